// One pass over a JSON value's text before it is parsed: how deep it nests, and whether a number in it is one
// JavaScript's numbers would change beyond rounding a fraction below 2^53.

/** What makes a JSON text one the gateway refuses to decode. */
export type JsonTextProblem = "too_deep" | "not_representable";

/**
 * A number's decimal value in one spelling (`text`): sign, significant digits (`digits`, without leading or trailing
 * zeros) and the power of ten of the last one; `"0"` for every zero. Two spellings denote the same value exactly when
 * their texts agree.
 */
function decimal(token: string): { readonly digits: string; readonly text: string } {
  const negative = token.charCodeAt(0) === 0x2d;
  const e = token.search(/[eE]/);
  const mantissa = token.slice(negative ? 1 : 0, e < 0 ? token.length : e);
  // An exponent past a double's range only occurs beside an infinite or zero value, which is decided before.
  let exponent = e < 0 ? 0 : Number(token.slice(e + 1));
  const point = mantissa.indexOf(".");
  let digits = mantissa;
  if (point >= 0) {
    digits = mantissa.slice(0, point) + mantissa.slice(point + 1);
    exponent -= mantissa.length - point - 1;
  }
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 0x30) start++;
  let end = digits.length;
  while (end > start && digits.charCodeAt(end - 1) === 0x30) {
    end--;
    exponent++;
  }
  if (start === end) return { digits: "", text: "0" };
  const significant = digits.slice(start, end);
  return { digits: significant, text: `${negative ? "-" : ""}${significant}e${exponent}` };
}

/**
 * Whether a JSON number token (valid JSON) is one the gateway refuses: a value beyond a double's range (infinite,
 * or zero for a non-zero number), or one of 2^53 or more whose JSON would say another number. There a double holds
 * whole numbers only, and not every one: `9007199254740993`, `9007199254740993.0`, `9.007199254740993e15` and
 * `12345678901234567890.5` would come back `…992` and `…7000`, and identifiers and counts must not change. Below it
 * a whole number is exact and a fraction comes back as the nearest double, as every JSON parser reads it (past 15
 * significant digits it may be rounded, by less than one unit).
 */
export function isUnrepresentableNumber(token: string): boolean {
  const value = Number(token);
  if (!Number.isFinite(value)) return true;
  if (value === 0) return decimal(token).digits !== "";
  // Rounding is monotone: a result under 2^53 is the nearest double of a number that is under it too.
  if (Math.abs(value) <= Number.MAX_SAFE_INTEGER) return false;
  return decimal(String(value)).text !== decimal(token).text;
}

/**
 * When a number token needs `isUnrepresentableNumber`: with an exponent, always; otherwise when its whole part
 * (sign included) is past 15 characters (fewer digits stay under 2^53), or the token past 300 (fewer digits reach
 * neither 1e308 nor 1e-323).
 */
const SHORT_WHOLE = 15;
const SHORT_TOKEN = 300;

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
      let point = -1;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2b || d === 0x2d) continue;
        if (d === 0x2e) point = j;
        else if (d === 0x65 || d === 0x45) exponent = true;
        else break;
      }
      const whole = (point < 0 ? j : point) - i;
      const check = exponent || whole > SHORT_WHOLE || j - i > SHORT_TOKEN;
      if (check && isUnrepresentableNumber(text.slice(i, j))) return "not_representable";
      i = j - 1;
    }
  }
  return undefined;
}
