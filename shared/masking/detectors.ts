// Content detectors over free text: SSNs, US phone numbers, emails, MRNs and dates, replaced by markers in linear time.
import {
  DEFAULT_DETECTOR_REPLACEMENTS,
  DETECTOR_KINDS,
  type DetectorConfig,
  type DetectorKind,
} from "./detector-rules.ts";
import { compileSafePattern } from "./safe-pattern.ts";

/** Hits per detector kind. */
export type DetectorCounts = Record<DetectorKind, number>;

/** Detectors compiled from a configuration; reusable across cells and results (no state between calls). */
export interface CompiledDetectors {
  /** The kinds that run. */
  readonly kinds: readonly DetectorKind[];
  /**
   * Returns `text` with every detected span replaced by its kind's marker (the same string when nothing
   * matched) and adds the number of replaced spans per kind to `counts`.
   */
  scan(text: string, counts: DetectorCounts): string;
}

/** Zeroed counts for every kind. */
export function emptyDetectorCounts(): DetectorCounts {
  return { ssn: 0, phone: 0, email: 0, mrn: 0, date: 0 };
}

// SSN-shaped, whether or not the SSA could have issued it (area 000/666/9xx, group 00 and serial 0000 included):
// an impossible number is still a number someone wrote down, and the detectors err toward recall.
const SSN_AREA = "\\d{3}";
const SSN_GROUP = "\\d{2}";
const SSN_SERIAL = "\\d{4}";
const SSN_KEYWORD =
  "\\b(?:ssn|ss#|ss no\\.?|social security(?: (?:number|no\\.?|#))?|soc\\.? ?sec\\.?(?: ?(?:no\\.?|#))?)";
const SSN = [
  `(?<!\\d[-.]?)${SSN_AREA}(?<ssnsep>[-. ])${SSN_GROUP}\\k<ssnsep>${SSN_SERIAL}(?![-.]?\\d)`,
  `(?<=${SSN_KEYWORD}[\\s:#=.-]{0,3})${SSN_AREA}${SSN_GROUP}${SSN_SERIAL}(?!\\d)`,
  `(?<![\\d.,]|\\d[-/])${SSN_AREA}${SSN_GROUP}${SSN_SERIAL}(?![\\d]|[-/.,]\\d)`,
];

// NANP-shaped (3-digit area, 3-digit exchange, 4-digit line), whether or not the area or exchange could be
// assigned (0xx/1xx, N11, N9X included), for the same reason as SSNs.
const AREA = "\\d{3}";
const EXCHANGE = "\\d{3}";
const SEP = "[-. ]";
const PHONE_KEYWORD =
  "\\b(?:phone|telephone|tel|cell|mobile|fax|call|contact|pager|ph)\\.?(?: ?(?:no\\.?|number|#))?";
const PHONE = [
  `(?<![\\d+])(?:\\+?1${SEP}?)?(?:\\(${AREA}\\)${SEP}?|${AREA}${SEP})${EXCHANGE}${SEP}\\d{4}(?![-.]?\\d)`,
  `(?<![\\d+])\\+1${AREA}${EXCHANGE}\\d{4}(?!\\d)`,
  `(?<=${PHONE_KEYWORD}[\\s:#=-]{0,3})1?${AREA}${EXCHANGE}\\d{4}(?!\\d)`,
];

const MONTH = "(?:0?[1-9]|1[0-2])";
const DAY = "(?:0?[1-9]|[12]\\d|3[01])";
const YEAR4 = "(?:1[89]|2[01])\\d\\d";
const TIME =
  "(?:[T ](?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:[.,]\\d{1,9})?)?(?: ?(?:Z|[+-]\\d\\d(?::?\\d\\d)?))?)?";
const BEFORE_DATE = "(?<!\\d[-/.]?)";
const AFTER_DATE = "(?![-/.]?\\d)";
const DATE = [
  `${BEFORE_DATE}${YEAR4}(?<isosep>[-/.])${MONTH}\\k<isosep>${DAY}${TIME}${AFTER_DATE}`,
  ...["/", "-", "."].map((s) => {
    const sep = `\\${s}`;
    const year = s === "/" ? `(?:${YEAR4}|\\d\\d)` : YEAR4;
    return `${BEFORE_DATE}(?:${MONTH}${sep}${DAY}|${DAY}${sep}${MONTH})${sep}${year}${AFTER_DATE}`;
  }),
];

const MONTH_NAME =
  "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
const ORDINAL = "(?:st|nd|rd|th)?";
/** Dates with a month name and a year: `October 16, 1940`, `Oct. 16 1940`, `16 October 1940`, `16th Oct, 1940`. */
const NAMED_MONTH_DATE = new RegExp(
  `\\b(?:${MONTH_NAME}\\.? ${DAY}${ORDINAL},? ?|${DAY}${ORDINAL} ${MONTH_NAME}\\.?,? )${YEAR4}(?![\\d]|[-/.]\\d)`,
  "gi",
);
/** A necessary condition for a named-month date (its four-digit year), cheap to test first. */
const YEAR_CANDIDATE = /(?:1[89]|2[01])\d\d/;

const NUMERIC_DETECTORS: readonly (readonly [DetectorKind, readonly string[]])[] = [
  ["ssn", SSN],
  ["phone", PHONE],
  ["date", DATE],
];

/**
 * One global regex for the digit-based kinds, each kind a named group; at one position the earlier kind wins.
 * Exported for tests (the cheap pre-filter must accept every text this matches in).
 */
export function numericRegex(kinds: readonly DetectorKind[]): RegExp | null {
  const parts = NUMERIC_DETECTORS.filter(([kind]) => kinds.includes(kind)).map(
    ([kind, alternatives]) => `(?<${kind}>${alternatives.join("|")})`,
  );
  return parts.length === 0 ? null : new RegExp(`(?=[\\d(+])(?:${parts.join("|")})`, "gi");
}

/**
 * A necessary condition for any numeric match (every SSN, phone and date form has two digits joined by one
 * or two separators, or six digits in a row); cheap to test, so most free text skips the full regex.
 */
export const NUMERIC_CANDIDATE = /\d(?:[-/. )]{1,2}\d|\d{5})/;
const KIND_INDEX: Readonly<Record<DetectorKind, number>> = { ssn: 0, phone: 1, email: 2, mrn: 3, date: 4 };

/** Local-part characters of an address: ASCII letters, digits, `._%+-'`, and non-ASCII non-space characters. */
function isLocalChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 46 ||
    c === 95 ||
    c === 37 ||
    c === 43 ||
    c === 45 ||
    c === 39 ||
    (c >= 128 && !isUnicodeSpace(c))
  );
}

function isDomainChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 45 ||
    (c >= 128 && !isUnicodeSpace(c))
  );
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 128 && !isUnicodeSpace(c));
}

function isUnicodeSpace(c: number): boolean {
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * Finds email addresses around each `@`: a local part of up to 64 characters to the left, a domain of up to
 * 253 characters to the right with at least one dot and an alphabetic top-level label of two or more
 * characters. Each `@` is looked at once and every scan stops at the next `@`, so the work is linear.
 */
function scanEmails(text: string, spans: number[]): void {
  let from = 0;
  for (let at = text.indexOf("@", from); at >= 0; at = text.indexOf("@", from)) {
    from = at + 1;
    let start = at;
    while (start > 0 && at - start < 64 && isLocalChar(text.charCodeAt(start - 1))) start--;
    while (start < at && text.charCodeAt(start) === 46) start++;
    if (start === at) continue;
    let end = at + 1;
    let labelStart = end;
    let dots = 0;
    while (end < text.length && end - at <= 253) {
      const c = text.charCodeAt(end);
      if (isDomainChar(c)) {
        end++;
      } else if (
        c === 46 &&
        end > labelStart &&
        end + 1 < text.length &&
        isDomainChar(text.charCodeAt(end + 1))
      ) {
        dots++;
        end++;
        labelStart = end;
      } else {
        break;
      }
    }
    if (dots === 0 || end - labelStart < 2) continue;
    let tld = true;
    for (let i = labelStart; i < end && tld; i++) tld = isLetter(text.charCodeAt(i));
    if (!tld) continue;
    spans.push(start, end, KIND_INDEX.email);
    from = end;
  }
}

/**
 * Compiles a detector configuration. The detectors err toward recall: a value shaped like an SSN or a phone
 * number is replaced even when no such number could be issued. SSNs: separated (`123-45-6789`, `123 45 6789`,
 * `000-12-3456`) or a standalone run of nine digits (`123456789`, not part of a longer number). Phone numbers:
 * separated forms (`(617) 555-0123`, `617.555.0123`, `+1 617 555 0123`, `123-456-7890`) on their own, a bare
 * 10-digit run only after a keyword (`phone`, `tel`, `call`, ...) or with `+1`. MRNs: whatever matches the
 * policy's pattern, real or not. Dates: ISO
 * (`2024-03-05`, with an optional time and zone; also `/` and `.`), `MM/DD/YYYY`, `DD.MM.YYYY`, `MM-DD-YYYY`,
 * `M/D/YY` (two-digit years only with `/`) and a month name with day and year (`October 16, 1940`,
 * `16 Oct 1940`); years 1800-2199. Throws `ConfigurationError` for an unsafe MRN pattern.
 */
export function compileDetectors(config: DetectorConfig): CompiledDetectors {
  const kinds = DETECTOR_KINDS.filter((k) => config.kinds.includes(k));
  const numeric = numericRegex(kinds);
  const email = kinds.includes("email");
  const dates = kinds.includes("date");
  const mrn =
    kinds.includes("mrn") && config.mrnPattern !== undefined ? compileSafePattern(config.mrnPattern) : null;
  const markers = DETECTOR_KINDS.map((k) => config.replacements[k] ?? DEFAULT_DETECTOR_REPLACEMENTS[k]);

  const spans: number[] = [];

  function scan(text: string, counts: DetectorCounts): string {
    spans.length = 0;
    if (numeric !== null && NUMERIC_CANDIDATE.test(text)) {
      numeric.lastIndex = 0;
      for (let m = numeric.exec(text); m !== null; m = numeric.exec(text)) {
        const g = m.groups;
        const kind = g?.ssn !== undefined ? "ssn" : g?.phone !== undefined ? "phone" : "date";
        spans.push(m.index, m.index + m[0].length, KIND_INDEX[kind]);
      }
    }
    if (dates && YEAR_CANDIDATE.test(text)) {
      NAMED_MONTH_DATE.lastIndex = 0;
      for (let m = NAMED_MONTH_DATE.exec(text); m !== null; m = NAMED_MONTH_DATE.exec(text)) {
        spans.push(m.index, m.index + m[0].length, KIND_INDEX.date);
      }
    }
    if (email && text.includes("@")) scanEmails(text, spans);
    if (mrn !== null) {
      mrn.lastIndex = 0;
      for (let m = mrn.exec(text); m !== null; m = mrn.exec(text)) {
        if (m[0].length === 0) mrn.lastIndex++;
        else spans.push(m.index, m.index + m[0].length, KIND_INDEX.mrn);
      }
    }
    return spans.length === 0 ? text : replaceSpans(text, spans, markers, counts);
  }

  return { kinds, scan };
}

/** Replaces spans (flat `start, end, kind` triples) by markers; overlapping spans merge under the first one's marker. */
function replaceSpans(
  text: string,
  spans: readonly number[],
  markers: readonly string[],
  counts: DetectorCounts,
): string {
  const order: number[] = [];
  for (let i = 0; i < spans.length; i += 3) order.push(i);
  order.sort((a, b) => (spans[a] ?? 0) - (spans[b] ?? 0) || (spans[b + 1] ?? 0) - (spans[a + 1] ?? 0));
  let out = "";
  let cursor = 0;
  let pendingEnd = -1;
  for (const i of order) {
    const start = spans[i] ?? 0;
    const end = spans[i + 1] ?? 0;
    if (start < pendingEnd) {
      pendingEnd = Math.max(pendingEnd, end);
      continue;
    }
    if (pendingEnd >= 0) cursor = pendingEnd;
    const kind = DETECTOR_KINDS[spans[i + 2] ?? 0] ?? "ssn";
    out += text.slice(cursor, start) + (markers[spans[i + 2] ?? 0] ?? "");
    counts[kind]++;
    pendingEnd = end;
  }
  if (pendingEnd >= 0) cursor = pendingEnd;
  return out + text.slice(cursor);
}

/** Runs compiled detectors over one text and returns the masked text with its hits per kind. */
export function detectPhi(
  detectors: CompiledDetectors,
  text: string,
): { text: string; counts: DetectorCounts } {
  const counts = emptyDetectorCounts();
  return { text: detectors.scan(text, counts), counts };
}
