// One pass over a JSON value's text before it is parsed: how deep it nests, and whether a number in it is one
// JavaScript's numbers would change beyond rounding.

/** What makes a JSON text one the gateway refuses to decode. */
export type JsonTextProblem = "too_deep" | "not_representable";

/**
 * Whether a JSON number token (valid JSON) is one the gateway refuses: a value beyond a double's range (infinite,
 * or zero for a non-zero number), or an integer a double does not carry digit for digit (`9007199254740993` would
 * come back `…992`: identifiers and counts must not change). Other numbers come back as the nearest double, as every
 * JSON parser reads them (digits past the 17th significant one are rounded).
 */
export function isUnrepresentableNumber(token: string): boolean {
  const value = Number(token);
  if (!Number.isFinite(value)) return true;
  const integer = /^-?[0-9]+$/.test(token);
  if (value === 0) return !integer && /[1-9]/.test(token.replace(/[eE].*$/, ""));
  // JSON writes an integer without leading zeros, as a double's own spelling does when it carries every digit.
  return integer && !Number.isSafeInteger(value) && String(value) !== token;
}

/**
 * When a number token needs `isUnrepresentableNumber`: with an exponent, always; an integer past 15 characters (a
 * double carries 15 digits exactly); a fraction without exponent only past 300 characters (fewer digits reach
 * neither 1e308 nor 1e-323, and its rounding is allowed).
 */
const SHORT_INTEGER = 15;
const SHORT_FRACTION = 300;

/**
 * Scans valid JSON text once: `too_deep` when it nests deeper than `maxDepth`, `not_representable` when a number
 * is one `isUnrepresentableNumber` refuses; undefined when neither. Strings are skipped whole (their numbers are
 * text); text that is not valid JSON may pass, and is the parser's to refuse.
 */
export function jsonTextProblem(text: string, maxDepth: number): JsonTextProblem | undefined {
  const n = text.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // To the closing quote: the next quote not escaped by an odd run of backslashes.
      let j = text.indexOf('"', i + 1);
      for (;;) {
        if (j < 0) return undefined;
        let k = j - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      i = j;
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > maxDepth) return "too_deep";
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let exponent = false;
      let fraction = false;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2b || d === 0x2d) continue;
        if (d === 0x2e) fraction = true;
        else if (d === 0x65 || d === 0x45) exponent = true;
        else break;
      }
      const check = exponent || j - i > (fraction ? SHORT_FRACTION : SHORT_INTEGER);
      if (check && isUnrepresentableNumber(text.slice(i, j))) return "not_representable";
      i = j - 1;
    }
  }
  return undefined;
}
