// Per-column cell functions: one closure per masked column, walking arrays and json values, failing closed on anything unexpected.
import { MaskingFailedError } from "#shared/errors.ts";
import type { CellValue, ResultColumn } from "#shared/sql/types.ts";
import type { CompiledDetectors, DetectorCounts } from "./detectors.ts";
import { compileGeneralizer, type GeneralizeContext } from "./generalize.ts";
import { maskPartial } from "./partial.ts";
import type { PlannedColumn } from "./plan.ts";

/** Masks one cell; throws `MaskingFailedError` rather than return a value it cannot mask. */
export type CellMasker = (value: CellValue) => CellValue;

/** What the cell functions of one result share. */
export interface CellMaskerContext {
  readonly generalize: GeneralizeContext;
  /** A tokenizer for a rule (shared between columns with the same rule, so their caches are too). */
  readonly tokenizer: (
    rule: Extract<PlannedColumn["spec"], { strategy: "tokenize" }>,
  ) => (value: string) => string;
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

/**
 * The type a column is reported with once masked: strategies that produce text (`partial`, `tokenize`,
 * `generalize`) turn a non-text column into `text` (`_text` for arrays); the others keep the type
 * (`redact` puts null in non-text columns, `nullify` null everywhere, detectors only rewrite strings).
 */
export function maskedType(
  column: ResultColumn,
  planned: PlannedColumn,
): Pick<ResultColumn, "type" | "typeOid"> {
  const producesText =
    planned.strategy === "partial" || planned.strategy === "tokenize" || planned.strategy === "generalize";
  if (!producesText || isTextType(column)) return { type: column.type, typeOid: column.typeOid };
  return column.type.startsWith("_") ? { type: "_text", typeOid: 1009 } : { type: "text", typeOid: 25 };
}

function unexpected(position: number): MaskingFailedError {
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

type Scalar = string | number | boolean;

/**
 * Lifts a scalar function to a cell function: null stays null, arrays are masked element by element (any
 * depth), plain objects go to `object` (or fail), non-finite numbers and non-JSON values fail.
 */
function walker(
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

function detectorCell(position: number, detectors: CompiledDetectors, hits: DetectorCounts): CellMasker {
  const scan = (s: string): string => detectors.scan(s, hits);
  const slow = walker(
    position,
    (v) => {
      if (typeof v === "string") return scan(v);
      if (typeof v === "number") {
        const text = String(v);
        return scan(text) === text ? v : null;
      }
      return v;
    },
    (o, walk) => Object.fromEntries(Object.entries(o).map(([k, x]) => [scan(k), walk(x)])),
  );
  return (v) => (typeof v === "string" ? detectors.scan(v, hits) : slow(v));
}

/**
 * The cell function of one planned column, or null when it is not masked. Throws `MaskingFailedError`
 * when the column needs detectors the caller did not supply.
 */
export function compileCellMasker(
  planned: PlannedColumn,
  column: ResultColumn,
  ctx: CellMaskerContext,
): CellMasker | null {
  const position = planned.position;
  let detectors: CompiledDetectors | null = null;
  if (planned.detectors.length > 0) {
    const compiled = ctx.detectors;
    if (compiled === undefined || planned.detectors.some((k) => !compiled.kinds.includes(k))) {
      throw new MaskingFailedError(
        "The content detectors this result needs are not configured; nothing was returned.",
      );
    }
    detectors = compiled;
  }
  const hits = ctx.detectorHits;
  const spec = planned.spec;
  if (spec === null) return detectors === null ? null : detectorCell(position, detectors, hits);
  switch (spec.strategy) {
    case "nullify":
      return (v) => {
        if (!isCellValue(v)) throw unexpected(position);
        return null;
      };
    case "redact": {
      const constant = isTextType(column) ? spec.replacement : null;
      const slow = walker(
        position,
        () => constant,
        () => constant,
      );
      return (v) => (typeof v === "string" ? constant : slow(v));
    }
    case "tokenize": {
      const tokenize = ctx.tokenizer(spec);
      const slow = walker(
        position,
        (v) => tokenize(typeof v === "string" ? v : String(v)),
        (o) => tokenize(JSON.stringify(o)),
      );
      return (v) => (typeof v === "string" ? tokenize(v) : slow(v));
    }
    case "partial": {
      const scan = detectors;
      const partial = (text: string): string =>
        maskPartial(scan === null ? text : scan.scan(text, hits), spec);
      const slow = walker(
        position,
        (v) => {
          if (typeof v === "boolean") throw unexpected(position);
          return partial(typeof v === "string" ? v : String(v));
        },
        null,
      );
      return (v) => (typeof v === "string" ? partial(v) : slow(v));
    }
    case "generalize": {
      const generalize = compileGeneralizer(spec.to, ctx.generalize);
      const withheld = ctx.withheld;
      const one = (v: string | number): string | null => {
        const out = generalize(v);
        if (out === null) withheld.count++;
        return out;
      };
      const slow = walker(
        position,
        (v) => {
          if (typeof v === "boolean") throw unexpected(position);
          return one(v);
        },
        null,
      );
      return (v) => (typeof v === "string" ? one(v) : slow(v));
    }
  }
}
