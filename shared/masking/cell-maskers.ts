// Per-column cell functions: the strategy's own (strategies/), the content detectors before or instead of it.
import { MaskingFailedError } from "#shared/errors.ts";
import type { CellValue, ResultColumn } from "#shared/sql/types.ts";
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
    (o, walk) => maskObjectKeys(o, scan, walk),
  );
  return (v) => (typeof v === "string" ? detectors.scan(v, hits) : slow(v));
}

/** Code-unit order, as a sort comparator. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A key the detectors rewrote, with its masked value. */
interface MaskedEntry {
  readonly base: string;
  readonly value: CellValue;
}

/** The rank of a JSON value's kind in {@link compareValues}' order. */
function kindRank(v: CellValue): number {
  if (v === null) return 0;
  switch (typeof v) {
    case "boolean":
      return 1;
    case "number":
      return 2;
    case "string":
      return 3;
    default:
      return Array.isArray(v) ? 4 : 5;
  }
}

/** An object's keys, listed once per object however often it is compared (a wide object's listing costs its width). */
export type KeyLists = (o: { readonly [key: string]: CellValue }) => readonly string[];

/** A {@link KeyLists} that remembers each object's keys (for one sort: the objects are not changed meanwhile). */
export function keyLists(): KeyLists {
  const known = new WeakMap<object, readonly string[]>();
  return (o) => {
    let keys = known.get(o);
    if (keys === undefined) {
      keys = Object.keys(o);
      known.set(o, keys);
    }
    return keys;
  };
}

/**
 * A total order on masked JSON values, read in place: by kind (null, boolean, number, string, array, object), then
 * by value (arrays item by item, then by length; objects by key count, then key by key, then value by value). It
 * stops at the first difference, and each object's keys are listed once (`keysOf`), so a comparison costs at most
 * the smaller value: serializing each value at every level of nesting cost the depth times its size (the
 * thirty-fifth outside attack: 999 levels of tied keys held every caller for seconds), and listing a wide object's
 * keys at every comparison cost its width each time (the thirty-sixth).
 */
export function compareValues(a: CellValue, b: CellValue, keysOf: KeyLists = Object.keys): number {
  const rank = kindRank(a) - kindRank(b);
  if (rank !== 0) return rank;
  if (a === null || typeof a !== "object") {
    if (a === b) return 0;
    return (a as string | number | boolean) < (b as string | number | boolean) ? -1 : 1;
  }
  if (Array.isArray(a)) {
    const other = b as CellValue[];
    const n = Math.min(a.length, other.length);
    for (let i = 0; i < n; i++) {
      const c = compareValues(a[i] as CellValue, other[i] as CellValue, keysOf);
      if (c !== 0) return c;
    }
    return a.length - other.length;
  }
  const other = b as { [key: string]: CellValue };
  const keysA = keysOf(a);
  const keysB = keysOf(other);
  if (keysA.length !== keysB.length) return keysA.length - keysB.length;
  for (let i = 0; i < keysA.length; i++) {
    const c = byCodeUnits(keysA[i] as string, keysB[i] as string);
    if (c !== 0) return c;
  }
  for (const key of keysA) {
    const c = compareValues(a[key] ?? null, other[key] ?? null, keysOf);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * An object as the detectors mask it: its keys scanned, its values walked. When no key changes, the object keeps its
 * keys and their order. When one does:
 *
 * - keys the detectors left alone keep their names;
 * - keys masked alike (`"a 123-45-6789"` and `"a 987-65-4321"` are both `"a [SSN]"`) stay apart, the second and
 *   later numbered (`"a [SSN] (2)"`, skipping names already taken), so no value is lost under another's key;
 * - which one is numbered, and the order of the keys, follow only what the caller sees (the masked key, then the
 *   masked value), never the hidden keys: the input's order (jsonb sorts keys by length, then bytes) would
 *   tell how a hidden key compares with a key the caller chose.
 */
export function maskObjectKeys(
  o: { readonly [key: string]: CellValue },
  scan: (key: string) => string,
  walk: (value: CellValue) => CellValue,
): { [key: string]: CellValue } {
  const keys = Object.keys(o);
  const masked = keys.map(scan);
  const maskedValue = (i: number): CellValue => walk(o[keys[i] as string] ?? null);
  if (masked.every((key, i) => key === keys[i]))
    return Object.fromEntries(keys.map((key, i) => [key, maskedValue(i)]));
  const entries: [string, CellValue][] = [];
  const rewritten: MaskedEntry[] = [];
  const taken = new Set<string>();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const base = masked[i] as string;
    if (base === key) {
      taken.add(key);
      entries.push([key, maskedValue(i)]);
    } else {
      rewritten.push({ base, value: maskedValue(i) });
    }
  }
  const keysOf = keyLists();
  rewritten.sort((a, b) => byCodeUnits(a.base, b.base) || compareValues(a.value, b.value, keysOf));
  const next = new Map<string, number>();
  for (const { base, value } of rewritten) {
    let key = base;
    if (taken.has(key)) {
      let n = next.get(base) ?? 2;
      while (taken.has(`${base} (${n})`)) n++;
      key = `${base} (${n})`;
      next.set(base, n + 1);
    }
    taken.add(key);
    entries.push([key, value]);
  }
  entries.sort((a, b) => byCodeUnits(a[0], b[0]));
  return Object.fromEntries(entries);
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
