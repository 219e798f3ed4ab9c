// Walking one cell: scalars, arrays at any depth and JSON objects, failing closed on anything a masker does not expect.
import { MaskingFailedError } from "#shared/errors.ts";
import type { CellValue, ResultColumn } from "#shared/sql/types.ts";
import type { CompiledDetectors, DetectorCounts } from "./detectors.ts";
import type { GeneralizeContext } from "./generalize.ts";
import type { TokenizerSpec } from "./tokenize.ts";

/** Masks one cell; throws `MaskingFailedError` rather than return a value it cannot mask. */
export type CellMasker = (value: CellValue) => CellValue;

/** What the cell functions of one result share. */
export interface CellMaskerContext {
  readonly generalize: GeneralizeContext;
  /** A tokenizer for a rule (shared between columns with the same rule, so their caches are too). */
  readonly tokenizer: (rule: TokenizerSpec) => (value: string) => string;
  readonly detectors: CompiledDetectors | undefined;
  readonly detectorHits: DetectorCounts;
  /** Counts values withheld (nulled) because they did not have the form a rule expects. */
  readonly withheld: { count: number };
}

/** PostgreSQL types whose JSON values are strings any text can replace. */
const TEXT_TYPES = new Set(["text", "varchar", "bpchar", "name", "citext", "char", "unknown"]);

/** Whether a result column is text-typed (for arrays, whether its elements are). */
export function isTextType(column: ResultColumn): boolean {
  return TEXT_TYPES.has(column.type.startsWith("_") ? column.type.slice(1) : column.type);
}

/** The failure of a value of an unexpected type at a result position. */
export function unexpected(position: number): MaskingFailedError {
  return new MaskingFailedError(
    "A value of an unexpected type was found while masking; nothing was returned.",
    {
      details: { position },
    },
  );
}

/** Whether `v` is a plain JSON object (as JSON.parse makes them). */
export function isPlainObject(v: object): v is { [key: string]: CellValue } {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A JSON scalar a cell function is handed. */
export type Scalar = string | number | boolean;

/**
 * Lifts a scalar function to a cell function: null stays null, arrays are masked element by element (any
 * depth), plain objects go to `object` (or fail), non-finite numbers and non-JSON values fail.
 */
export function walker(
  position: number,
  scalar: (v: Scalar) => CellValue,
  object: ((o: { [key: string]: CellValue }, walk: CellMasker) => CellValue) | null,
): CellMasker {
  const walk = (v: CellValue): CellValue => {
    if (v === null) return null;
    switch (typeof v) {
      case "string":
      case "boolean":
        return scalar(v);
      case "number":
        if (!Number.isFinite(v)) throw unexpected(position);
        return scalar(v);
      case "object": {
        if (Array.isArray(v)) {
          const out: CellValue[] = new Array(v.length);
          for (let i = 0; i < v.length; i++) out[i] = walk(v[i] as CellValue);
          return out;
        }
        if (object !== null && isPlainObject(v)) return object(v, walk);
        throw unexpected(position);
      }
      default:
        throw unexpected(position);
    }
  };
  return walk;
}

/** Whether an unmasked value is a JSON value (checked one level deep; nested content is not looked at). */
export function isCellValue(v: unknown): boolean {
  if (v === null) return true;
  switch (typeof v) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(v);
    case "object":
      return Array.isArray(v) || isPlainObject(v);
    default:
      return false;
  }
}
