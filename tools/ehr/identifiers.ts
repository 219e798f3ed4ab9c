// Identifier formats of the synthetic EHR: MRN, SSN (valid and invalid), fictional phone numbers, reserved emails.

import { permute } from "./permutation.ts";
import { hash32, type Prng } from "./prng.ts";
import { Stream } from "./streams.ts";

const MRN_SPACE = 10_000_000;
const SSN_AREAS = 898;
const SSN_SPACE = SSN_AREAS * 99 * 9999;

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** The MRN of the patient at `index`: `MRN-` and 7 digits, distinct for every index of a dataset. */
export function mrnFor(seed: number, index: number): string {
  return `MRN-${pad(permute(index, MRN_SPACE, hash32(seed, Stream.mrn)), 7)}`;
}

function ssnFromOrdinal(ordinal: number): string {
  const serial = (ordinal % 9999) + 1;
  const rest = Math.floor(ordinal / 9999);
  const group = (rest % 99) + 1;
  const areaIndex = Math.floor(rest / 99) + 1;
  const area = areaIndex >= 666 ? areaIndex + 1 : areaIndex;
  return `${pad(area, 3)}-${pad(group, 2)}-${pad(serial, 4)}`;
}

/** The SSN of the patient at `index`: valid-format per SSA rules and distinct for every index of a dataset. */
export function ssnFor(seed: number, index: number): string {
  return ssnFromOrdinal(permute(index, SSN_SPACE, hash32(seed, Stream.ssn)));
}

/** A random valid-format SSN (`123-45-6789`): area not 000, 666 or 9xx; group not 00; serial not 0000. */
export function randomSsn(rng: Prng): string {
  return ssnFromOrdinal(rng.int(0, SSN_SPACE - 1));
}

/** A random SSN-shaped number that the SSA never issues (`000-…`, `666-…`, `9xx-…`, group `00` or serial `0000`). */
export function invalidSsnLike(rng: Prng): string {
  const area = pad(rng.int(1, 899), 3);
  const group = pad(rng.int(1, 99), 2);
  const serial = pad(rng.int(1, 9999), 4);
  switch (rng.int(0, 4)) {
    case 0:
      return `000-${group}-${serial}`;
    case 1:
      return `666-${group}-${serial}`;
    case 2:
      return `${rng.int(900, 999)}-${group}-${serial}`;
    case 3:
      return `${area}-00-${serial}`;
    default:
      return `${area}-${group}-0000`;
  }
}

/** True when `value` is `ddd-dd-dddd` and follows the SSA's issuing rules. */
export function isValidSsn(value: string): boolean {
  const match = /^(\d{3})-(\d{2})-(\d{4})$/.exec(value);
  if (!match) return false;
  const [, area = "", group = "", serial = ""] = match;
  return area !== "000" && area !== "666" && area[0] !== "9" && group !== "00" && serial !== "0000";
}

/** A phone number in the range reserved for fiction (NXX 555, line 0100–0199). */
export interface FictionalPhone {
  readonly areaCode: string;
  /** 4-digit line number, `0100`…`0199`. */
  readonly line: string;
}

/** How a phone number is written. */
export type PhoneStyle = "dashed" | "paren" | "dots" | "intl";

/** A random fictional phone number under `areaCode`. */
export function fictionalPhone(rng: Prng, areaCode: string): FictionalPhone {
  return { areaCode, line: pad(rng.int(100, 199), 4) };
}

/** Writes a phone number: `617-555-0142`, `(617) 555-0142`, `617.555.0142` or `+1 617 555 0142`. */
export function formatPhone(phone: FictionalPhone, style: PhoneStyle): string {
  const { areaCode, line } = phone;
  switch (style) {
    case "dashed":
      return `${areaCode}-555-${line}`;
    case "paren":
      return `(${areaCode}) 555-${line}`;
    case "dots":
      return `${areaCode}.555.${line}`;
    case "intl":
      return `+1 ${areaCode} 555 ${line}`;
  }
}

/** The domains reserved for documentation (RFC 2606): the only ones generated emails use. */
export const EMAIL_DOMAINS = ["example.com", "example.org", "example.net"] as const;

function asciiWord(text: string): string {
  return text
    .normalize("NFD")
    .toLowerCase()
    .replace(/[^a-z]/g, "");
}

/** A random email for a person at a reserved domain: `first.last`, `flast` or `firstlast`, maybe with digits. */
export function emailFor(rng: Prng, firstName: string, lastName: string): string {
  const first = asciiWord(firstName);
  const last = asciiWord(lastName);
  const style = rng.int(0, 2);
  const local =
    style === 0 ? `${first}.${last}` : style === 1 ? `${first.slice(0, 1)}${last}` : `${first}${last}`;
  const suffix = rng.chance(0.5) ? String(rng.int(1, 99)) : "";
  return `${local}${suffix}@${rng.pick(EMAIL_DOMAINS)}`;
}
