// Per-column cell functions: the strategy's own (strategies/), the content detectors before or instead of it.
import { MaskingFailedError } from "#shared/errors.ts";
import type { ResultColumn } from "#shared/sql/types.ts";
import { type CellMasker, type CellMaskerContext, isTextType, walker } from "./cell-walk.ts";
import type { CompiledDetectors, DetectorCounts } from "./detectors.ts";
import type { PlannedColumn } from "./plan.ts";
import { type ColumnRule, strategyOf } from "./strategies.ts";
import type { MaskTarget } from "./strategy.ts";

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
    planned.strategy !== null && planned.strategy !== "detect" && strategyOf(planned.strategy).outputsText;
  if (!producesText || isTextType(column)) return { type: column.type, typeOid: column.typeOid };
  return column.type.startsWith("_") ? { type: "_text", typeOid: 1009 } : { type: "text", typeOid: 25 };
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
    (o, walk) => {
      const keys = Object.keys(o);
      return Object.fromEntries(
        maskedKeys(keys, scan).map((key, i) => [key, walk(o[keys[i] as string] ?? null)]),
      );
    },
  );
  return (v) => (typeof v === "string" ? detectors.scan(v, hits) : slow(v));
}

/**
 * An object's keys as the detectors mask them, each still its own: keys masked alike (`"a 123-45-6789"` and
 * `"a 987-65-4321"` are both `"a [SSN]"`) are numbered in order (`"a [SSN]"`, `"a [SSN] (2)"`), so no value is lost
 * under another's key.
 */
export function maskedKeys(keys: readonly string[], scan: (key: string) => string): string[] {
  const masked = keys.map(scan);
  if (masked.every((key, i) => key === keys[i])) return masked;
  const taken = new Set<string>();
  return masked.map((key) => {
    let free = key;
    for (let n = 2; taken.has(free); n++) free = `${key} (${n})`;
    taken.add(free);
    return free;
  });
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
  return compileRule(spec, { position, column, ctx, detectors });
}

/** A rule's cell function, compiled by its strategy. */
function compileRule(rule: ColumnRule, target: MaskTarget): CellMasker {
  const compile = strategyOf(rule.strategy).compile as (rule: ColumnRule, target: MaskTarget) => CellMasker;
  return compile(rule, target);
}
