// Lineage values: which base columns and whole rows an expression's value can carry, and how it was transformed.
import type { ColumnClause, ColumnRef, TableRef, TransformKind } from "./types.ts";

/** A base relation as the analysis sees it: one interned object per relation (identity is equality). */
export interface SourceRelation extends TableRef {
  /** `schema.table`, for sorting and reasons. */
  readonly key: string;
}

/** A base column: one interned object per column (identity is equality). */
export interface SourceColumn extends ColumnRef {
  readonly relation: SourceRelation;
  /** `schema.table.column`, for sorting. */
  readonly key: string;
  /** The lineage of a plain reference to this column. */
  readonly lineage: Lineage;
  /** No two rows of the relation share a non-null value of it (a unique index on it alone; see `CatalogColumn`). */
  readonly unique: boolean;
}

/** What a value can carry. Immutable once built; shared freely. */
export interface Lineage {
  readonly sources: readonly SourceColumn[];
  readonly wholeRows: readonly SourceRelation[];
  /** Bit set of {@link TRANSFORM_BITS}. */
  readonly transforms: number;
  /** The value is, unchanged, the value of one of `sources`. */
  readonly copy: boolean;
  /** The value passed through a user-defined routine. */
  readonly opaque: boolean;
}

const TRANSFORM_ORDER: readonly TransformKind[] = [
  "function",
  "cast",
  "operator",
  "aggregate",
  "window",
  "json_xml",
  "whole_row",
  "case",
  "coalesce",
  "subquery",
  "array",
  "set_operation",
  "other",
];

/** Bit of each transformation kind. */
export const TRANSFORM_BITS = Object.fromEntries(TRANSFORM_ORDER.map((kind, i) => [kind, 1 << i])) as Record<
  TransformKind,
  number
>;

const transformLists = new Map<number, readonly TransformKind[]>();

/** The transformation kinds in a bit set, in a fixed order (a shared, frozen array per bit set). */
export function transformKinds(bits: number): readonly TransformKind[] {
  let kinds = transformLists.get(bits);
  if (kinds === undefined) {
    const list: TransformKind[] = [];
    for (let i = 0; i < TRANSFORM_ORDER.length; i++) {
      const kind = TRANSFORM_ORDER[i];
      if (kind !== undefined && bits & (1 << i)) list.push(kind);
    }
    kinds = Object.freeze(list);
    transformLists.set(bits, kinds);
  }
  return kinds;
}

const CLAUSE_ORDER: readonly ColumnClause[] = [
  "output",
  "predicate",
  "join",
  "grouping",
  "having",
  "ordering",
  "window",
  "limit",
  "other",
];

/** Bit of each clause. */
export const CLAUSE_BITS = Object.fromEntries(CLAUSE_ORDER.map((clause, i) => [clause, 1 << i])) as Record<
  ColumnClause,
  number
>;

/**
 * The exposure a value read in a clause gets by default: the construct the opacity rules name. `output` and
 * `other` (values computed and then dropped: unused subquery columns, EXISTS select lists) expose nothing.
 */
export const CLAUSE_VIA: ReadonlyMap<number, string> = new Map([
  [CLAUSE_BITS.predicate, "where"],
  [CLAUSE_BITS.join, "join_on"],
  [CLAUSE_BITS.grouping, "group_by"],
  [CLAUSE_BITS.having, "having"],
  [CLAUSE_BITS.ordering, "order_by"],
  [CLAUSE_BITS.window, "window"],
  [CLAUSE_BITS.limit, "limit"],
]);

const clauseLists = new Map<number, readonly ColumnClause[]>();

/** The clauses in a bit set, in a fixed order (a shared, frozen array per bit set). */
export function clauseList(bits: number): readonly ColumnClause[] {
  let clauses = clauseLists.get(bits);
  if (clauses === undefined) {
    const list: ColumnClause[] = [];
    for (let i = 0; i < CLAUSE_ORDER.length; i++) {
      const clause = CLAUSE_ORDER[i];
      if (clause !== undefined && bits & (1 << i)) list.push(clause);
    }
    clauses = Object.freeze(list);
    clauseLists.set(bits, clauses);
  }
  return clauses;
}

const NO_ROWS: readonly SourceRelation[] = Object.freeze([]);

/** A value that depends on no column. */
export const CONSTANT: Lineage = Object.freeze({
  sources: [],
  wholeRows: [],
  transforms: 0,
  copy: false,
  opaque: false,
});

/** True when the value depends on no column, no whole row and no user-defined code. */
export function isConstant(lineage: Lineage): boolean {
  return lineage.sources.length === 0 && lineage.wholeRows.length === 0 && !lineage.opaque;
}

function addAll<T>(target: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as T;
    if (!target.includes(item)) target.push(item);
  }
}

/** The union of `parts`, transformed by `bits` (not a copy). `extraBits` may be 0 for plain unions. */
export function transformed(parts: readonly Lineage[], bits: number, opaque = false): Lineage {
  if (parts.length === 1 && !opaque) {
    const only = parts[0] as Lineage;
    if (isConstant(only)) return CONSTANT;
    if (!only.copy && (only.transforms & bits) === bits) return only;
    return {
      sources: only.sources,
      wholeRows: only.wholeRows,
      transforms: only.transforms | bits,
      copy: false,
      opaque: only.opaque,
    };
  }
  const sources: SourceColumn[] = [];
  const wholeRows: SourceRelation[] = [];
  let transforms = bits;
  let isOpaque = opaque;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Lineage;
    addAll(sources, part.sources);
    if (part.wholeRows.length > 0) addAll(wholeRows, part.wholeRows);
    transforms |= part.transforms;
    isOpaque ||= part.opaque;
  }
  if (sources.length === 0 && wholeRows.length === 0 && !isOpaque) return CONSTANT;
  return {
    sources,
    wholeRows: wholeRows.length === 0 ? NO_ROWS : wholeRows,
    transforms,
    copy: false,
    opaque: isOpaque,
  };
}

/**
 * Lineage of a value that is, row by row, one of `branches` unchanged (set-operation branches, VALUES rows,
 * recursive CTE iterations, both sides of a USING column). A copy when every branch is; a branch of constants
 * beside a column makes it a `set_operation` transform: a value the query chose would otherwise be masked as
 * the column is (a tokenized guess beside the real tokens), or be joined or looked up as if it were the column.
 */
export function branches(parts: readonly Lineage[]): Lineage {
  const live = parts.filter((part) => !isConstant(part));
  if (live.length === 0) return CONSTANT;
  const mixed = live.length < parts.length;
  if (live.length === 1 && !mixed) return live[0] as Lineage;
  const merged = transformed(live, mixed ? TRANSFORM_BITS.set_operation : 0);
  const allCopies = !mixed && live.every((part) => part.copy);
  return allCopies ? { ...merged, copy: true } : merged;
}

/** True when both carry the same things the same way. */
export function sameLineage(a: Lineage, b: Lineage): boolean {
  if (a === b) return true;
  if (a.copy !== b.copy || a.opaque !== b.opaque || a.transforms !== b.transforms) return false;
  if (a.sources.length !== b.sources.length || a.wholeRows.length !== b.wholeRows.length) return false;
  return a.sources.every((s) => b.sources.includes(s)) && a.wholeRows.every((r) => b.wholeRows.includes(r));
}
