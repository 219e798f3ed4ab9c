// The `partial` algorithm: keep the first/last significant characters, mask the rest, keep separators.

/** What `maskPartial` keeps and what it masks with. */
export interface PartialSpec {
  readonly keepFirst: number;
  readonly keepLast: number;
  readonly maskChar: string;
}

/** ASCII classes: 0 significant, 1 separator (whitespace or ASCII punctuation). */
const ASCII_SEPARATOR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  ASCII_SEPARATOR[c] = /[\s!-/:-@[-`{-~]/.test(ch) || c < 32 || c === 127 ? 1 : 0;
}
const MARK = /^\p{M}$/u;
const NON_ASCII_SEPARATOR = /^\s$/u;

const SEPARATOR = 0;
const SIGNIFICANT = 1;
const MARK_KIND = 2;

/** The class of one code point: separator, significant, or a combining mark (which follows its base). */
function classify(cp: number): number {
  if (cp < 128) return ASCII_SEPARATOR[cp] === 1 ? SEPARATOR : SIGNIFICANT;
  const ch = String.fromCodePoint(cp);
  if (MARK.test(ch)) return MARK_KIND;
  return NON_ASCII_SEPARATOR.test(ch) ? SEPARATOR : SIGNIFICANT;
}

/**
 * Masks `value` format-preservingly. Significant characters (letters, digits, symbols, anything but
 * whitespace and ASCII punctuation) are counted by code point; the first `keepFirst` and last `keepLast`
 * stay, every other one becomes `maskChar`; separators stay as they are. Combining marks share their base
 * character's fate and vanish when it is masked. A value with at most `keepFirst + keepLast` significant
 * characters is masked entirely (keeping would reveal all of it).
 */
export function maskPartial(value: string, rule: PartialSpec): string {
  const { keepFirst, keepLast, maskChar } = rule;
  let significant = 0;
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128) {
      ascii = false;
      break;
    }
    if (ASCII_SEPARATOR[c] === 0) significant++;
  }
  if (ascii) {
    const keepAny = significant > keepFirst + keepLast;
    const lastStart = significant - keepLast;
    let out = "";
    let k = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (ASCII_SEPARATOR[c] === 1) {
        out += value[i];
      } else {
        out += keepAny && (k < keepFirst || k >= lastStart) ? value[i] : maskChar;
        k++;
      }
    }
    return out;
  }
  return maskPartialUnicode(value, rule);
}

function maskPartialUnicode(value: string, rule: PartialSpec): string {
  const { keepFirst, keepLast, maskChar } = rule;
  const points = Array.from(value);
  const kinds = points.map((p) => classify(p.codePointAt(0) ?? 0));
  const significant = kinds.reduce((n, k) => (k === SIGNIFICANT ? n + 1 : n), 0);
  const keepAny = significant > keepFirst + keepLast;
  const lastStart = significant - keepLast;
  let out = "";
  let k = 0;
  let baseKept = false;
  for (let i = 0; i < points.length; i++) {
    const kind = kinds[i];
    const p = points[i] ?? "";
    if (kind === SEPARATOR) {
      out += p;
      baseKept = false;
    } else if (kind === MARK_KIND) {
      if (baseKept) out += p;
    } else {
      baseKept = keepAny && (k < keepFirst || k >= lastStart);
      out += baseKept ? p : maskChar;
      k++;
    }
  }
  return out;
}
