// The row masker: a masking plan compiled against the executor's result columns into a fail-closed page function.
import { MaskingFailedError } from "#shared/errors.ts";
import type { ResultColumn, Row } from "#shared/sql/types.ts";
import { compileCellMasker, maskedType } from "./cell-maskers.ts";
import { type CellMasker, isCellValue, isTextType } from "./cell-walk.ts";
import { type CompiledDetectors, type DetectorCounts, emptyDetectorCounts } from "./detectors.ts";
import type { MaskingPlan, PlannedColumn } from "./plan.ts";
import { type MaskingStrategy, STRATEGIES_BY_STRICTNESS } from "./strategies.ts";
import { createTokenizer, type TokenizerSpec } from "./tokenize.ts";

/** Keys the masker uses. */
export interface MaskingKeys {
  /** The HMAC key of `tokenize` (at least 32 bytes); tokens are stable for as long as it is. */
  readonly tokenizationKey: Buffer;
}

/** The injected clock (Safe Harbor's "older than 89" depends on today). */
export interface MaskingClock {
  now(): Date;
}

/** A result column as returned to the caller: its (possibly changed) type and the masking applied. */
export interface MaskedResultColumn extends ResultColumn {
  readonly masking: { readonly rule: string; readonly strategy: MaskingStrategy | "detect" } | null;
}

/** What a masker did, accumulated over every page (for the session record; counts only, never values). */
export interface MaskingStats {
  readonly rows: number;
  /** Non-null cells of masked columns, by the strategy applied (`detect` for detector-only columns). */
  readonly masked: Readonly<Record<MaskingStrategy | "detect", number>>;
  /** Spans replaced by the content detectors, by kind. */
  readonly detectorHits: Readonly<DetectorCounts>;
  /**
   * Of those, spans found in columns the plan left unmasked (the second line): text that looks like PHI where
   * the lineage says none can be — a value the query wrote, or a column the policy does not know is free text.
   */
  readonly secondLineHits: number;
  /** Values nulled because they did not have the form their rule expects (e.g. a date that does not parse). */
  readonly withheld: number;
}

/** A compiled masker for one result. */
export interface Masker {
  /** The result's columns as the caller sees them. */
  readonly columns: readonly MaskedResultColumn[];
  /** Masks one page of rows into new rows (the input is not modified); throws `MaskingFailedError` on anything unexpected. */
  maskPage(rows: readonly Row[]): Row[];
  /** The statistics so far. */
  stats(): MaskingStats;
}

/** Everything {@link compileMasker} needs. */
export interface MaskerOptions {
  /** An allowing plan from `planMasking`. */
  readonly plan: MaskingPlan;
  /** The result columns the executor reported, one per planned column. */
  readonly columns: readonly ResultColumn[];
  readonly keys: MaskingKeys;
  readonly clock: MaskingClock;
  /**
   * Required when any planned column runs detectors; when given, every text, JSON or XML column the plan leaves
   * unmasked is scanned too (the second line, reported as rule `detectors`).
   */
  readonly detectors?: CompiledDetectors;
}

const GENERIC_FAILURE = "Masking failed; nothing was returned.";

function failure(error: unknown): MaskingFailedError {
  if (error instanceof MaskingFailedError) return error;
  return new MaskingFailedError(GENERIC_FAILURE, {
    details: { error: error instanceof Error ? error.name : typeof error },
  });
}

function mismatch(): MaskingFailedError {
  return new MaskingFailedError("The result does not match its masking plan; nothing was returned.");
}

/** The rule name reported for a column only the second line of detectors scans. */
export const SECOND_LINE_RULE = "detectors";

/** Whether a column's reported masking is the second line only (stricter than none, never a weakening). */
export function isSecondLine(masking: { readonly rule: string; readonly strategy: string } | null): boolean {
  return masking !== null && masking.rule === SECOND_LINE_RULE && masking.strategy === "detect";
}

/** JSON, XML and text-like types (and arrays of them): their values are text someone wrote. */
const SCANNED_TYPES = new Set(["json", "jsonb", "xml"]);

function scannedType(column: ResultColumn): boolean {
  return (
    isTextType(column) || SCANNED_TYPES.has(column.type.startsWith("_") ? column.type.slice(1) : column.type)
  );
}

/** The strategies counted in the statistics, least strict first, then the detectors alone. */
const STRATEGIES: readonly (MaskingStrategy | "detect")[] = [...STRATEGIES_BY_STRICTNESS, "detect"];

/**
 * Compiles a plan and the executor's columns into a {@link Masker}. Fails closed: a plan that is not an
 * allowing plan, a column-count mismatch, a missing or short key, missing detectors, an invalid clock —
 * `MaskingFailedError` before any row is looked at; a row of the wrong width, a value of an unexpected type, or
 * any error while masking — `MaskingFailedError` for the whole page (no row of it is returned).
 */
export function compileMasker(options: MaskerOptions): Masker {
  try {
    return build(options);
  } catch (error) {
    throw failure(error);
  }
}

function build(options: MaskerOptions): Masker {
  const { plan, columns } = options;
  if (plan.decision !== "allow" || plan.columns.length !== columns.length) throw mismatch();
  const nowMs = options.clock.now().getTime();
  if (!Number.isFinite(nowMs)) throw new MaskingFailedError("The clock is not usable; nothing was returned.");
  const detectorHits = emptyDetectorCounts();
  const secondLineHits = emptyDetectorCounts();
  const withheld = { count: 0 };
  const tokenizers = new Map<string, (value: string) => string>();
  const ctx = {
    generalize: { currentYear: new Date(nowMs).getUTCFullYear() },
    tokenizer: (rule: TokenizerSpec) => {
      const id = `${rule.prefix}|${[...rule.normalize].sort().join(",")}`;
      let t = tokenizers.get(id);
      if (t === undefined) {
        t = createTokenizer(options.keys.tokenizationKey, rule);
        tokenizers.set(id, t);
      }
      return t;
    },
    detectors: options.detectors,
    detectorHits,
    withheld,
  };

  const masked: number[] = [];
  const passthrough: number[] = [];
  const fns: CellMasker[] = [];
  const strategyOf: number[] = [];
  const out: MaskedResultColumn[] = [];
  plan.columns.forEach((planned: PlannedColumn, i) => {
    const column = columns[i];
    if (column === undefined || planned.position !== i) throw mismatch();
    let fn = compileCellMasker(planned, column, ctx);
    // A column is returned as is only when the plan says so on every count: a cell masker without a rule or
    // strategy (or the reverse) is an inconsistent plan, and guessing either way could return a raw value.
    let { strategy, rule } = planned;
    if (fn === null) {
      if (strategy !== null || rule !== null) throw mismatch();
      // The second line: text the plan leaves alone still goes through the detectors, whatever its lineage.
      const detectors = options.detectors;
      if (detectors !== undefined && scannedType(column)) {
        strategy = "detect";
        rule = SECOND_LINE_RULE;
        const second = { ...ctx, detectorHits: secondLineHits };
        fn = compileCellMasker({ ...planned, rule, strategy, detectors: detectors.kinds }, column, second);
      }
    }
    if (fn === null) {
      passthrough.push(i);
      out.push({ name: column.name, type: column.type, typeOid: column.typeOid, masking: null });
    } else {
      if (strategy === null || rule === null) throw mismatch();
      masked.push(i);
      fns.push(fn);
      strategyOf.push(STRATEGIES.indexOf(strategy));
      out.push({
        name: column.name,
        ...maskedType(column, planned),
        masking: { rule, strategy },
      });
    }
  });

  const width = columns.length;
  const counts = new Array<number>(STRATEGIES.length).fill(0);
  let rowCount = 0;

  function maskRows(rows: readonly Row[]): Row[] {
    if (!Array.isArray(rows)) throw mismatch();
    const result: Row[] = new Array(rows.length);
    const pageCounts = new Array<number>(STRATEGIES.length).fill(0);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      if (!Array.isArray(row) || row.length !== width) throw mismatch();
      const copy = row.slice();
      for (let j = 0; j < passthrough.length; j++) {
        if (!isCellValue(copy[passthrough[j] as number])) throw mismatch();
      }
      for (let j = 0; j < masked.length; j++) {
        const i = masked[j] as number;
        const v = copy[i] as Row[number];
        copy[i] = (fns[j] as CellMasker)(v);
        if (v !== null) {
          const k = strategyOf[j] as number;
          pageCounts[k] = (pageCounts[k] as number) + 1;
        }
      }
      result[r] = copy;
    }
    for (let s = 0; s < counts.length; s++) counts[s] = (counts[s] ?? 0) + (pageCounts[s] ?? 0);
    rowCount += rows.length;
    return result;
  }

  return {
    columns: out,
    maskPage(rows) {
      try {
        return maskRows(rows);
      } catch (error) {
        throw failure(error);
      }
    },
    stats() {
      const byStrategy = Object.fromEntries(STRATEGIES.map((s, i) => [s, counts[i] ?? 0])) as Record<
        MaskingStrategy | "detect",
        number
      >;
      const hits = { ...detectorHits };
      let secondLine = 0;
      for (const kind of Object.keys(hits) as (keyof typeof hits)[]) {
        hits[kind] += secondLineHits[kind];
        secondLine += secondLineHits[kind];
      }
      return {
        rows: rowCount,
        masked: byStrategy,
        detectorHits: hits,
        secondLineHits: secondLine,
        withheld: withheld.count,
      };
    },
  };
}
