// Images of protected values for world B: fresh, same format, keeping exactly what the columns' masking rules show.

import type { GeneralizeTarget } from "#shared/masking/generalize.ts";
import { compileGeneralizer } from "#shared/masking/generalize.ts";
import { maskPartial } from "#shared/masking/partial.ts";
import type { PartialRule } from "#shared/masking/strategies/partial.ts";
import type { ColumnRule } from "#shared/masking/strategies.ts";
import { normalizeForToken } from "#shared/masking/tokenize.ts";
import { EMAIL_DOMAINS, isValidSsn } from "#tools/ehr/identifiers.ts";
import { Prng } from "#tools/ehr/prng.ts";

/** The value formats the harness can make images of. */
export type ValueKind =
  | "ssn"
  | "mrn"
  | "phone"
  | "email"
  | "name"
  | "date"
  | "timestamp"
  | "zip"
  | "text"
  | "enum";

/** Where a domain's constraints come from: one protected column's rule. */
export interface DomainRule {
  readonly column: string;
  readonly rule: ColumnRule;
}

const MAX_ATTEMPTS = 2_000;
/** Generated dates of birth go back to ages of 104 (tools/ehr/patients.ts): bucketed years are drawn from there. */
const OLDEST_BUCKET_YEARS = 15;
const FREE_YEARS: readonly [number, number] = [1920, 2024];
const ALL_NORMALIZATIONS = ["unicode", "case", "whitespace"] as const;
const LETTER = /\p{L}/u;
const UPPER = /\p{Lu}/u;

function digitsOf(value: string): string {
  return value.replace(/\D/g, "");
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function two(value: number): string {
  return String(value).padStart(2, "0");
}

function isCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** Two-byte (UTF-8) letters, for images of non-ASCII letters: the image keeps the value's size in bytes. */
const WIDE_LOWER = [..."àáâãäåçèéêëìíîïñòóôõöùúûüý"];
const WIDE_UPPER = [..."ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝ"];

/**
 * A random character of the same class and the same UTF-8 size: digit → digit, ASCII letter → ASCII letter of the
 * same case, two-byte letter → two-byte letter of the same case; anything else stays. Equal sizes keep both worlds'
 * tables byte for byte the same shape (same pages, same row positions), so row order never differs by layout.
 */
function sameClass(rng: Prng, ch: string): string {
  if (/[0-9]/.test(ch)) return String(rng.int(0, 9));
  if (!LETTER.test(ch)) return ch;
  const upper = UPPER.test(ch);
  const bytes = Buffer.byteLength(ch);
  if (bytes === 2) return rng.pick(upper ? WIDE_UPPER : WIDE_LOWER);
  if (bytes !== 1) return ch;
  const letter = String.fromCharCode(97 + rng.int(0, 25));
  return upper ? letter.toUpperCase() : letter;
}

function randomizeLike(rng: Prng, template: string, fixed: readonly boolean[]): string {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const ch = template[i] ?? "";
    out += fixed[i] === true ? ch : sameClass(rng, ch);
  }
  return out;
}

/** Positions of `value` a partial rule shows (significant characters it keeps); ASCII values only. */
function partialKept(value: string, rule: PartialRule): boolean[] {
  const masked = maskPartial(value, { ...rule, maskChar: "\u0000" });
  if (masked.length !== value.length)
    throw new Error(`partial masking changed the length of a ${value.length}-character value`);
  return [...value].map((ch, i) => masked[i] === ch && /[\p{L}\p{N}]/u.test(ch));
}

/**
 * The images of one value domain (a kind of value shared by the columns and note spans that hold it): every A
 * value registered first, then each gets a fresh image of the same format — never equal to an A value of the
 * domain, never shared by two A values (by key: names compare as tokenize's normalizations do) — that keeps
 * what the domain's rules show: the characters a `partial` rule keeps, the year (and month) a `generalize` rule
 * keeps (a bucketed birth year may move within the bucket), the ZIP3 prefix. `tokenize`, `redact` and `nullify`
 * keep nothing beyond equality, which the mapping keeps by construction. A strategy or target the harness does
 * not know throws.
 */
export class ImageDomain {
  private readonly originals = new Map<string, string>();
  private readonly images = new Map<string, string>();
  private readonly used = new Set<string>();
  private readonly checks = new Map<string, ((image: string) => boolean)[]>();
  private readonly partials: PartialRule[] = [];
  private readonly generalizers: { to: GeneralizeTarget; apply: (v: string) => string | null }[] = [];
  private readonly rng: Prng;
  private finalized = false;

  constructor(
    readonly name: string,
    readonly kind: ValueKind,
    rules: readonly DomainRule[],
    seed: number,
    private readonly currentYear: number,
    private readonly allowed: readonly string[] = [],
  ) {
    this.rng = new Prng(
      seed,
      [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7),
    );
    for (const { column, rule } of rules) this.addRule(column, rule);
  }

  /** The rules' generalize targets (for the world's self-check). */
  get targets(): readonly GeneralizeTarget[] {
    return this.generalizers.map((g) => g.to);
  }

  private addRule(column: string, rule: ColumnRule): void {
    switch (rule.strategy) {
      case "tokenize":
      case "redact":
      case "nullify":
        return;
      case "partial":
        if (this.kind === "enum")
          throw new Error(`${column}: partial masking of a ${this.kind} column is not supported`);
        this.partials.push(rule);
        return;
      case "generalize":
        this.addGeneralize(column, rule.to);
        return;
      default:
        throw new Error(
          `${column}: the non-interference harness does not know masking strategy ${(rule as { strategy: string }).strategy}`,
        );
    }
  }

  private addGeneralize(column: string, to: GeneralizeTarget): void {
    switch (to) {
      case "year":
      case "month":
      case "birth_year":
      case "birth_month":
        if (this.kind !== "date" && this.kind !== "timestamp")
          throw new Error(`${column}: generalize to ${to} on a ${this.kind} column is not supported`);
        break;
      case "zip3":
        if (this.kind !== "zip")
          throw new Error(`${column}: generalize to zip3 on a ${this.kind} column is not supported`);
        break;
      case "age":
        throw new Error(
          `${column}: generalize to age: the demo schema has no age column the harness can map`,
        );
      default:
        throw new Error(
          `${column}: the non-interference harness does not know generalize target ${String(to)}`,
        );
    }
    const generalize = compileGeneralizer(to, { currentYear: this.currentYear });
    this.generalizers.push({ to, apply: (v) => generalize(v) });
  }

  /** The key images are chosen by: the value itself, or for names its tokenize-normalized form. */
  private key(value: string): string {
    return this.kind === "name" ? normalizeForToken(value, ALL_NORMALIZATIONS) : value;
  }

  /**
   * Registers an A value (in its canonical form); call for every value before the first `image`. `check`, when
   * given, is one more condition its image must meet (a note span written in a form whose length depends on the
   * value, e.g. `March 4, 1980`, asks for an image written as long).
   */
  register(value: string, check?: (image: string) => boolean): void {
    if (this.finalized) throw new Error(`${this.name}: value registered after images were drawn`);
    const key = this.key(value);
    if (!this.originals.has(key)) this.originals.set(key, value);
    if (check !== undefined) this.checks.set(key, [...(this.checks.get(key) ?? []), check]);
  }

  /** Every registered A value's key (the domain's A values). */
  keys(): IterableIterator<string> {
    return this.originals.keys();
  }

  /** The image of a registered A value (canonical form in, canonical form out). */
  image(value: string): string {
    if (!this.finalized) this.finalize();
    const key = this.key(value);
    const image = this.images.get(key);
    if (image === undefined) throw new Error(`${this.name}: no image for an unregistered value`);
    return this.kind === "name" ? renderName(value, image) : image;
  }

  private finalize(): void {
    this.finalized = true;
    if (this.kind === "enum") {
      this.permuteEnum();
      return;
    }
    for (const [key, value] of this.originals) {
      const image = this.draw(this.kind === "name" ? key : value, this.checks.get(key) ?? []);
      this.images.set(key, image);
      this.used.add(image);
    }
  }

  private permuteEnum(): void {
    const values = [...this.allowed];
    const shift = values.length > 1 ? this.rng.int(1, values.length - 1) : 0;
    for (const key of this.originals.keys()) {
      const at = values.indexOf(key);
      if (at < 0) throw new Error(`${this.name}: value outside the column's allowed values`);
      this.images.set(key, values[(at + shift) % values.length] ?? key);
    }
  }

  private draw(template: string, checks: readonly ((image: string) => boolean)[]): string {
    const fixed = this.fixedPositions(template);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const candidate = this.candidate(template, fixed);
      if (candidate === undefined || !this.valid(candidate)) continue;
      if (Buffer.byteLength(candidate) !== Buffer.byteLength(template)) continue;
      if (!checks.every((check) => check(candidate))) continue;
      if (this.originals.has(candidate) || this.used.has(candidate)) continue;
      if (!this.keepsWhatRulesShow(template, candidate)) continue;
      return candidate;
    }
    throw new Error(`${this.name}: no fresh image found for a ${template.length}-character value`);
  }

  private fixedPositions(template: string): boolean[] {
    const fixed = [...template].map(() => false);
    for (const rule of this.partials) {
      partialKept(template, rule).forEach((kept, i) => {
        if (kept) fixed[i] = true;
      });
    }
    const format = (from: number, to: number): void => {
      for (let i = from; i < to; i++) fixed[i] = true;
    };
    if (this.kind === "mrn" && template.startsWith("MRN-")) format(0, 4);
    if (this.kind === "phone" && /^\d{3}-555-01\d{2}$/.test(template)) format(4, 10);
    if (this.kind === "zip" && this.targets.includes("zip3")) format(0, 3);
    return fixed;
  }

  private candidate(template: string, fixed: readonly boolean[]): string | undefined {
    switch (this.kind) {
      case "date":
      case "timestamp":
        return this.dateCandidate(template, fixed);
      case "email": {
        const at = template.lastIndexOf("@");
        const local = randomizeLike(this.rng, template.slice(0, at), fixed);
        const domain = at < 0 ? "" : `@${this.rng.pick(EMAIL_DOMAINS)}`;
        return overlay(`${local}${domain}`, template, fixed);
      }
      default:
        return randomizeLike(this.rng, template, fixed);
    }
  }

  private dateCandidate(template: string, fixed: readonly boolean[]): string | undefined {
    const year = Number(template.slice(0, 4));
    const keepYear = this.targets.some((t) => t === "year" || t === "month");
    const birthOnly = !keepYear && this.targets.some((t) => t === "birth_year" || t === "birth_month");
    const cutoff = this.currentYear - 90;
    let newYear: number;
    let keepMonth = this.targets.some((t) => t === "month" || t === "birth_month");
    if (keepYear || (birthOnly && year > cutoff)) newYear = year;
    else if (birthOnly) {
      newYear = this.rng.int(cutoff - OLDEST_BUCKET_YEARS + 1, cutoff);
      keepMonth = false;
    } else newYear = this.rng.int(FREE_YEARS[0], FREE_YEARS[1]);
    const month = keepMonth ? Number(template.slice(5, 7)) : this.rng.int(1, 12);
    const day = this.rng.int(1, daysInMonth(newYear, month));
    let value = `${String(newYear).padStart(4, "0")}-${two(month)}-${two(day)}`;
    if (this.kind === "timestamp") {
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$/.test(template))
        throw new Error(`${this.name}: timestamps must be YYYY-MM-DDTHH:MM:00Z`);
      value += `T${two(this.rng.int(0, 23))}:${two(this.rng.int(0, 59))}:00Z`;
    }
    const out = overlay(value, template, fixed);
    return isCalendarDate(out) ? out : undefined;
  }

  private valid(candidate: string): boolean {
    switch (this.kind) {
      case "ssn":
        return isValidSsn(candidate);
      case "mrn":
        return /^MRN-\d{7}$/.test(candidate);
      case "phone":
        return /^(?![2-9]11)[2-9][0-8]\d-(?![2-9]11)[2-9]\d\d-\d{4}$/.test(candidate);
      case "zip":
        return /^\d{5}$/.test(candidate);
      case "email":
        return /^[^@\s]+@[^@\s]+$/.test(candidate);
      default:
        return true;
    }
  }

  /** The project's own maskers agree on A's value and its image (the self-check of every image). */
  private keepsWhatRulesShow(original: string, image: string): boolean {
    for (const rule of this.partials)
      if (maskPartial(original, rule) !== maskPartial(image, rule)) return false;
    for (const { apply } of this.generalizers) if (apply(original) !== apply(image)) return false;
    return true;
  }
}

function overlay(value: string, template: string, fixed: readonly boolean[]): string {
  if (value.length !== template.length) return value;
  let out = "";
  for (let i = 0; i < value.length; i++) out += fixed[i] === true ? (template[i] ?? "") : (value[i] ?? "");
  return out;
}

/** A name image in the original's spelling: its case per letter (the image key is lower case, same letters count). */
function renderName(original: string, keyImage: string): string {
  if (original !== original.trim() || /\s\s/.test(original))
    throw new Error("names with leading, trailing or repeated whitespace are not supported");
  const source = [...keyImage];
  let out = "";
  let i = 0;
  for (const ch of original) {
    const image = source[i++] ?? ch;
    out += UPPER.test(ch) ? image.toUpperCase() : image;
  }
  return out;
}

/** The canonical form of a note span's value in its domain, and how to write an image back in the span's form. */
export interface SpanForm {
  readonly canonical: string;
  render(image: string): string;
  /** A condition on the image so that its written form is as long as the span (forms of variable length only). */
  readonly check?: (image: string) => boolean;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

function replaceDigits(written: string, digits: string, fromEnd: boolean): string {
  const chars = [...written];
  const positions = chars.flatMap((ch, i) => (/\d/.test(ch) ? [i] : []));
  const targets = fromEnd ? positions.slice(positions.length - digits.length) : positions;
  targets.forEach((at, k) => {
    chars[at] = digits[k] ?? "";
  });
  return chars.join("");
}

/** The span form of a planted note value (its kind and the generator's `variant` say how it is written). */
export function spanForm(kind: string, variant: string, value: string): SpanForm {
  switch (kind) {
    case "ssn": {
      const d = digitsOf(value);
      if (d.length !== 9) throw new Error(`an SSN span without 9 digits (${variant})`);
      return {
        canonical: `${d.slice(0, 3)}-${d.slice(3, 5)}-${d.slice(5)}`,
        render: (image) => replaceDigits(value, digitsOf(image), false),
      };
    }
    case "phone": {
      const d = digitsOf(value).slice(-10);
      if (d.length !== 10) throw new Error(`a phone span without 10 digits (${variant})`);
      return {
        canonical: `${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`,
        render: (image) => replaceDigits(value, digitsOf(image), true),
      };
    }
    case "email":
    case "mrn":
      return { canonical: value, render: (image) => image };
    case "date":
      return dateSpanForm(variant, value);
    default:
      throw new Error(`no span form for note spans of kind ${kind}`);
  }
}

function dateSpanForm(variant: string, value: string): SpanForm {
  const style = variant.split("-").at(-1);
  let canonical: string;
  if (style === "iso") canonical = value;
  else if (style === "us") {
    const [mm = "", dd = "", yyyy = ""] = value.split("/");
    canonical = `${yyyy}-${mm}-${dd}`;
  } else if (style === "long") {
    const m = /^([A-Za-z]+) (\d{1,2}), (\d{4})$/.exec(value);
    const month = MONTHS.indexOf(m?.[1] ?? "") + 1;
    if (m === null || month === 0) throw new Error(`a long date span that is not "Month D, YYYY"`);
    canonical = `${m[3]}-${two(month)}-${two(Number(m[2]))}`;
  } else throw new Error(`unknown date span style ${variant}`);
  if (!isCalendarDate(canonical)) throw new Error(`a date span that is not a calendar date (${variant})`);
  const render = (image: string): string => {
    const [y = "", m = "", d = ""] = image.split("-");
    if (style === "iso") return image;
    if (style === "us") return `${m}/${d}/${y}`;
    return `${MONTHS[Number(m) - 1] ?? ""} ${Number(d)}, ${y}`;
  };
  return {
    canonical,
    render,
    ...(style === "long" ? { check: (image: string) => render(image).length === value.length } : {}),
  };
}
