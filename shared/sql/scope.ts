// Name scopes of a query: FROM items (with their columns and lineage), nesting levels, and CTE visibility.
import type { Node } from "@pgsql/types";
import type { IndexedRelation } from "./catalog-index.ts";
import { branches, type Lineage, type SourceRelation, TRANSFORM_BITS, transformed } from "./lineage.ts";
import type { Analysis } from "./walk-state.ts";

/** One column an item exposes. */
export interface RangeColumn {
  readonly name: string;
  readonly lineage: Lineage;
  /** Set when something references the column (only tracked for derived items). */
  used: boolean;
  /** For a merged USING column: the columns it merges. */
  readonly parts?: readonly RangeColumn[];
}

/** Something a qualified name can refer to: a table, view, subquery, function, CTE or aliased join. */
export interface NsItem {
  readonly name: string | undefined;
  /** The base relation, for `schema.table.column` references and whole-row references. */
  readonly relation: IndexedRelation | undefined;
  readonly columns: readonly RangeColumn[];
  /** When set, the item may have columns beyond `columns`; an unknown name carries this. */
  readonly open: Lineage | undefined;
  /** Columns derive from a query or function: unreferenced ones are recorded as `other` at the end. */
  readonly derived: boolean;
  /** Hidden from qualified references (the children of an aliased join). */
  hidden: boolean;
  /** What a whole-row reference carries beyond the base relation's columns (values a DML statement assigns). */
  readonly extra?: Lineage;
}

/** One element of a FROM list: its items and the columns an unqualified name or `*` sees. */
export interface FromEntry {
  readonly items: readonly NsItem[];
  readonly columns: readonly RangeColumn[];
  readonly open: Lineage | undefined;
}

/** A CTE definition and, once analyzed, its columns. */
export interface CteDef {
  readonly name: string;
  readonly node: Node | undefined;
  readonly aliasNames: readonly string[];
  columns: { readonly name: string; readonly lineage: Lineage }[] | undefined;
  /** Set when a FROM item references it. */
  referenced: boolean;
  /** The relation scans its body made (`Analysis.scans`), which each further reference repeats. */
  scans?: ReadonlyMap<SourceRelation, number>;
}

/** CTE names visible at some point, innermost first. */
export class CteScope {
  constructor(
    readonly defs: ReadonlyMap<string, CteDef>,
    readonly parent: CteScope | undefined,
  ) {}

  /** The visible CTE named `name`. */
  find(name: string): CteDef | undefined {
    for (let scope: CteScope | undefined = this; scope !== undefined; scope = scope.parent) {
      const def = scope.defs.get(name);
      if (def !== undefined) return def;
    }
    return undefined;
  }
}

/** One query level: its FROM entries and the enclosing level (for correlated references). */
export class Scope {
  readonly entries: FromEntry[] = [];
  /**
   * Why this level's rows may repeat a row of what it reads (a join, a function, a subquery...), or undefined
   * when its FROM is one table scanned once, or it has none (see `Classification.repeatedAggregates`).
   */
  repeats: string | undefined;
  constructor(
    readonly parent: Scope | undefined,
    readonly ctes: CteScope | undefined,
  ) {}
}

/** A plain item over `columns`. */
export function makeItem(
  name: string | undefined,
  columns: readonly RangeColumn[],
  options: { relation?: IndexedRelation; open?: Lineage; derived?: boolean; extra?: Lineage } = {},
): NsItem {
  const item: NsItem = {
    name,
    relation: options.relation,
    columns,
    open: options.open,
    derived: options.derived ?? false,
    hidden: false,
  };
  return options.extra === undefined ? item : { ...item, extra: options.extra };
}

/** Columns named by `names`, renaming the first ones by an alias column list. */
export function rangeColumns(
  columns: readonly { readonly name: string; readonly lineage: Lineage }[],
  aliasNames: readonly string[] = [],
): RangeColumn[] {
  return columns.map((column, i) => ({
    name: aliasNames[i] ?? column.name,
    lineage: column.lineage,
    used: false,
  }));
}

/** Marks a column (and what it merges) as referenced. */
export function markUsed(column: RangeColumn): void {
  column.used = true;
  if (column.parts !== undefined) for (const part of column.parts) markUsed(part);
}

/** The lineage of a whole-row reference to `item` (every column; the base tables' whole rows). */
export function wholeRowLineage(item: NsItem): Lineage {
  const relation = item.relation;
  if (relation !== undefined && !item.derived) {
    const base: Lineage = {
      sources: relation.columns,
      wholeRows: [relation.source],
      transforms: TRANSFORM_BITS.whole_row,
      copy: false,
      opaque: false,
    };
    return item.extra === undefined ? base : transformed([base, item.extra], TRANSFORM_BITS.whole_row);
  }
  const parts: Lineage[] = [];
  for (const column of item.columns) {
    markUsed(column);
    parts.push(column.lineage);
  }
  if (item.open !== undefined) parts.push(item.open);
  const merged = transformed(parts, TRANSFORM_BITS.whole_row);
  const wholeRows = [...merged.wholeRows];
  for (const source of merged.sources)
    if (!wholeRows.includes(source.relation)) wholeRows.push(source.relation);
  return { ...merged, wholeRows, transforms: merged.transforms | TRANSFORM_BITS.whole_row };
}

/** The items visible to a qualified reference named `name` at one level. */
export function itemsNamed(scope: Scope, name: string): readonly NsItem[] {
  let found: NsItem[] | undefined;
  const entries = scope.entries;
  for (let e = 0; e < entries.length; e++) {
    const items = (entries[e] as FromEntry).items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as NsItem;
      if (item.hidden || item.name !== name) continue;
      if (found === undefined) found = [item];
      else found.push(item);
    }
  }
  return found ?? NO_ITEMS;
}

const NO_ITEMS: readonly NsItem[] = Object.freeze([]);

/** The items at one level whose base relation is `schema.table`. */
export function itemsForRelation(scope: Scope, schema: string, table: string): NsItem[] {
  const found: NsItem[] = [];
  for (const entry of scope.entries) {
    for (const item of entry.items) {
      const source = item.relation?.source;
      if (!item.hidden && source !== undefined && source.schema === schema && source.table === table)
        found.push(item);
    }
  }
  return found;
}

/** The column `name` of `item`: its lineage, or undefined when the item has no such column. */
export function itemColumn(item: NsItem, name: string, analysis: Analysis): Lineage | undefined {
  const found: Matches = { first: undefined, more: undefined };
  matchColumns(item.columns, name, found);
  const lineage = matchedLineage(found);
  if (lineage !== undefined) return lineage;
  if (item.open !== undefined) {
    if (item.relation !== undefined && !item.derived) return analysis.columnOf(item.relation, name).lineage;
    return item.open;
  }
  return undefined;
}

/** The lineage of the columns named `name` at one level (several: PostgreSQL would call it ambiguous; all kept). */
export function exactColumn(scope: Scope, name: string): Lineage | undefined {
  const found: Matches = { first: undefined, more: undefined };
  const entries = scope.entries;
  for (let e = 0; e < entries.length; e++) matchColumns((entries[e] as FromEntry).columns, name, found);
  return matchedLineage(found);
}

/** A column lookup's matches so far: the first column of the name, and every match's lineage once there are two. */
interface Matches {
  first: RangeColumn | undefined;
  more: Lineage[] | undefined;
}

/** Marks the columns named `name` referenced and adds them to `found`. */
function matchColumns(columns: readonly RangeColumn[], name: string, found: Matches): void {
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c] as RangeColumn;
    if (column.name !== name) continue;
    markUsed(column);
    if (found.first === undefined) found.first = column;
    else if (found.more === undefined) found.more = [found.first.lineage, column.lineage];
    else found.more.push(column.lineage);
  }
}

/** The lineage of the matches: the one column's, several merged as branches, or undefined for none. */
function matchedLineage(found: Matches): Lineage | undefined {
  return found.more === undefined ? found.first?.lineage : branches(found.more);
}

/** The lineage an unknown column `name` gets from the items at one level whose columns are not all known. */
export function openColumn(scope: Scope, name: string, analysis: Analysis): Lineage | undefined {
  let open: Lineage[] | undefined;
  for (const entry of scope.entries) {
    if (entry.open === undefined) continue;
    for (const item of entry.items) {
      if (item.open === undefined) continue;
      const lineage = itemColumn(item, name, analysis);
      if (lineage === undefined) continue;
      if (open === undefined) open = [lineage];
      else open.push(lineage);
    }
  }
  return open === undefined ? undefined : branches(open);
}
