// Checks and compiles policy-supplied patterns (the MRN detector) in a regex subset that cannot backtrack catastrophically.
import { ConfigurationError } from "#shared/errors.ts";

/** Longest pattern source accepted. */
const MAX_SOURCE = 200;
/** Longest match a pattern may produce: bounds the work per start position. */
const MAX_MATCH = 256;
/** Largest `{n,m}` bound. */
const MAX_REPEAT = 100;
/** Upper bound on the ways one start position can be matched (alternatives × repetition choices). */
const MAX_PATHS = 10_000;
const PATHS_CAP = 1e12;

interface Metrics {
  readonly min: number;
  readonly max: number;
  readonly paths: number;
}

class PatternProblem extends Error {}

const SYNTAX = new Set("^$\\.*+?()[]{}|/");
const CLASS_ESCAPES = new Set("dDwWsS");
const CONTROL_ESCAPES = new Set("tnrfv");

/** A recursive-descent reader of the accepted subset, computing match-length and path bounds as it goes. */
class Reader {
  private pos = 0;
  constructor(private readonly src: string) {}

  parse(): Metrics {
    const m = this.alternation();
    if (this.pos < this.src.length) throw new PatternProblem(`unexpected "${this.src[this.pos]}"`);
    return m;
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private alternation(): Metrics {
    let acc = this.sequence();
    while (this.peek() === "|") {
      this.pos++;
      const next = this.sequence();
      acc = {
        min: Math.min(acc.min, next.min),
        max: Math.max(acc.max, next.max),
        paths: Math.min(PATHS_CAP, acc.paths + next.paths),
      };
    }
    return acc;
  }

  private sequence(): Metrics {
    let acc: Metrics = { min: 0, max: 0, paths: 1 };
    for (let c = this.peek(); c !== undefined && c !== "|" && c !== ")"; c = this.peek()) {
      const atom = this.quantified(this.atom());
      acc = {
        min: acc.min + atom.min,
        max: acc.max + atom.max,
        paths: Math.min(PATHS_CAP, acc.paths * atom.paths),
      };
    }
    return acc;
  }

  private atom(): Metrics {
    const c = this.peek();
    this.pos++;
    switch (c) {
      case "(":
        return this.group();
      case "[":
        return this.characterClass();
      case "\\":
        return this.escape(false);
      case ".":
        return { min: 1, max: 1, paths: 1 };
      case "^":
      case "$":
        throw new PatternProblem("anchors (^, $) do not apply to a search in free text; use \\b");
      case "*":
      case "+":
      case "?":
      case "{":
        throw new PatternProblem(`"${c}" has nothing to repeat`);
      default:
        if (c === undefined || SYNTAX.has(c)) throw new PatternProblem(`unexpected "${c ?? "end"}"`);
        return { min: 1, max: 1, paths: 1 };
    }
  }

  private group(): Metrics {
    if (this.peek() === "?") {
      if (this.src[this.pos + 1] !== ":") {
        throw new PatternProblem("only plain (...) and (?:...) groups are allowed (no lookaround, no names)");
      }
      this.pos += 2;
    }
    const inner = this.alternation();
    if (this.peek() !== ")") throw new PatternProblem("unclosed group");
    this.pos++;
    return inner;
  }

  private escape(inClass: boolean): Metrics {
    const c = this.peek();
    this.pos++;
    if (c === undefined) throw new PatternProblem("pattern ends with a backslash");
    if (CLASS_ESCAPES.has(c) || CONTROL_ESCAPES.has(c) || SYNTAX.has(c) || (inClass && c === "-")) {
      return { min: 1, max: 1, paths: 1 };
    }
    if (!inClass && (c === "b" || c === "B")) return { min: 0, max: 0, paths: 1 };
    throw new PatternProblem(
      `escape "\\${c}" is not allowed (no back-references, properties or code escapes)`,
    );
  }

  private characterClass(): Metrics {
    if (this.peek() === "^") this.pos++;
    let items = 0;
    for (let c = this.peek(); c !== "]"; c = this.peek()) {
      if (c === undefined) throw new PatternProblem("unclosed character class");
      if (c === "[") throw new PatternProblem('a literal "[" inside a class must be escaped');
      const start = this.classChar();
      if (this.peek() === "-" && this.src[this.pos + 1] !== "]") {
        this.pos++;
        const end = this.classChar();
        if (start === null || end === null || end < start) throw new PatternProblem("invalid class range");
      }
      items++;
    }
    this.pos++;
    if (items === 0) throw new PatternProblem("empty character class");
    return { min: 1, max: 1, paths: 1 };
  }

  /** One class member; its code point, or null for \d-like escapes (which cannot bound a range). */
  private classChar(): number | null {
    const c = this.peek();
    this.pos++;
    if (c !== "\\") return c?.codePointAt(0) ?? null;
    const e = this.peek();
    this.escape(true);
    return e !== undefined && !CLASS_ESCAPES.has(e) && !CONTROL_ESCAPES.has(e)
      ? (e.codePointAt(0) ?? null)
      : null;
  }

  private quantified(atom: Metrics): Metrics {
    const c = this.peek();
    let lo: number;
    let hi: number;
    if (c === "?") {
      this.pos++;
      lo = 0;
      hi = 1;
    } else if (c === "{") {
      const m = /^\{(\d{1,3})(?:(,)(\d{1,3})?)?\}/.exec(this.src.slice(this.pos));
      if (m === null) throw new PatternProblem('"{" must start a bounded repetition {n} or {n,m}');
      if (m[2] !== undefined && m[3] === undefined) {
        throw new PatternProblem("unbounded repetition {n,}; give an upper bound {n,m}");
      }
      this.pos += m[0].length;
      lo = Number(m[1]);
      hi = m[3] === undefined ? lo : Number(m[3]);
      if (hi < lo) throw new PatternProblem("repetition {n,m} with m < n");
      if (hi > MAX_REPEAT) throw new PatternProblem(`repetition above ${MAX_REPEAT}`);
    } else if (c === "*" || c === "+") {
      throw new PatternProblem(`unbounded "${c}"; use a bounded repetition such as {1,20}`);
    } else {
      return atom;
    }
    const next = this.peek();
    if (next === "?" || next === "*" || next === "+" || next === "{") {
      throw new PatternProblem("a repetition may not be repeated or made lazy");
    }
    if (atom.min === 0 && hi > 1) throw new PatternProblem("a repeated part must not match the empty string");
    let paths = 0;
    for (let k = lo, p = atom.paths ** lo; k <= hi && paths < PATHS_CAP; k++, p *= atom.paths) {
      paths = Math.min(PATHS_CAP, paths + p);
    }
    return { min: atom.min * lo, max: atom.max * hi, paths };
  }
}

/**
 * Why `source` is not an acceptable detector pattern, or null when it is. Accepted: literals, `.`, classes,
 * `\d \w \s` (and negations), `\b`, groups `(...)` / `(?:...)`, alternation, and bounded repetition `?`,
 * `{n}`, `{n,m}` (m ≤ 100). Rejected: unbounded repetition (`*`, `+`, `{n,}`), lookaround, back-references,
 * anchors, empty matches, matches longer than 256 characters, and nestings whose ways of matching one
 * position exceed 10,000 (`(a|a){1,30}`, `\d{0,60}\d{0,60}\d{0,60}`), so a scan is linear in the text with
 * a bounded constant.
 */
export function checkSafePattern(source: string): string | null {
  if (source.length === 0) return "empty pattern";
  if (source.length > MAX_SOURCE) return `pattern longer than ${MAX_SOURCE} characters`;
  let metrics: Metrics;
  try {
    metrics = new Reader(source).parse();
  } catch (error) {
    if (error instanceof PatternProblem) return error.message;
    throw error;
  }
  if (metrics.min === 0) return "pattern can match the empty string";
  if (metrics.max > MAX_MATCH) return `pattern can match more than ${MAX_MATCH} characters`;
  if (metrics.paths > MAX_PATHS) return "pattern is too ambiguous (too many ways to match at one position)";
  let compiled: RegExp;
  try {
    compiled = new RegExp(source, "u");
  } catch {
    return "not a valid regular expression";
  }
  if (compiled.test("")) return "pattern can match the empty string";
  return null;
}

/** Compiles a pattern accepted by {@link checkSafePattern} as a global Unicode regex; throws `ConfigurationError` otherwise. */
export function compileSafePattern(source: string): RegExp {
  const problem = checkSafePattern(source);
  if (problem !== null) throw new ConfigurationError(`Unsafe detector pattern: ${problem}.`);
  return new RegExp(source, "gu");
}
