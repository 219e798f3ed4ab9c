// Resolves column references, whole-row references and `*` against the scope chain, as PostgreSQL does, but conservatively.
import type { ColumnRef, Node } from "@pgsql/types";
import type { Cx } from "./expressions.ts";
import { branches, CONSTANT, type Lineage, TRANSFORM_BITS, transformed } from "./lineage.ts";
import {
  exactColumn,
  itemColumn,
  itemsForRelation,
  itemsNamed,
  markUsed,
  type NsItem,
  openColumn,
  type RangeColumn,
  type Scope,
  wholeRowLineage,
} from "./scope.ts";
import { stringList } from "./walk-state.ts";

/** The lineage of a column reference (recorded in the current clause). */
export function columnRef(ref: ColumnRef, cx: Cx): Lineage {
  const fields = ref.fields ?? [];
  const last = fields[fields.length - 1];
  let lineage: Lineage;
  if (last !== undefined && "A_Star" in last) {
    const names = stringList(fields.slice(0, -1));
    lineage = names.length === 0 ? starLineage(cx) : qualifiedStar(names, cx);
  } else if (fields.length === 1 && last !== undefined && "String" in last) {
    lineage = resolveNames([last.String.sval ?? ""], cx);
  } else if (fields.length === 2) {
    lineage = qualifiedColumn(fields, cx) ?? resolveNames(stringList(fields), cx);
  } else {
    lineage = resolveNames(stringList(fields), cx);
  }
  cx.an.record(lineage, cx.clause, cx.via);
  return lineage;
}

/** Fast path for `t.c` naming exactly one item that has exactly one column `c`; undefined otherwise. */
function qualifiedColumn(fields: readonly Node[], cx: Cx): Lineage | undefined {
  const first = fields[0];
  const second = fields[1];
  if (first === undefined || second === undefined || !("String" in first) || !("String" in second))
    return undefined;
  const table = first.String.sval ?? "";
  const column = second.String.sval ?? "";
  for (let scope: Scope | undefined = cx.scope; scope !== undefined; scope = scope.parent) {
    const items = itemsNamed(scope, table);
    if (items.length === 0) continue;
    const item = items[0];
    if (items.length > 1 || item === undefined) return undefined;
    let found: RangeColumn | undefined;
    const columns = item.columns;
    for (let c = 0; c < columns.length; c++) {
      const candidate = columns[c] as RangeColumn;
      if (candidate.name !== column) continue;
      if (found !== undefined) return undefined;
      found = candidate;
    }
    if (found === undefined) return undefined;
    markUsed(found);
    return found.lineage;
  }
  return undefined;
}

/** `*` inside an expression (`count(*)` aside): the whole rows of every item at the current level. */
export function starLineage(cx: Cx): Lineage {
  const parts: Lineage[] = [];
  for (const entry of cx.scope.entries)
    for (const item of entry.items) if (!item.hidden) parts.push(wholeRowLineage(item));
  return transformed(parts, TRANSFORM_BITS.whole_row);
}

function qualifiedStar(names: string[], cx: Cx): Lineage {
  const items = findItems(names, cx.scope);
  if (items.length === 0) {
    cx.an.unresolved.add(`${names.join(".")}.*`);
    return CONSTANT;
  }
  return transformed(items.map(wholeRowLineage), TRANSFORM_BITS.whole_row);
}

/** The items `names` (`[t]`, `[schema, t]`, `[db, schema, t]`) refers to at the nearest level that has any. */
export function findItems(names: readonly string[], start: Scope, count = names.length): readonly NsItem[] {
  const table = names[count - 1] ?? "";
  const schema = count > 1 ? names[count - 2] : undefined;
  for (let scope: Scope | undefined = start; scope !== undefined; scope = scope.parent) {
    const items = schema === undefined ? itemsNamed(scope, table) : itemsForRelation(scope, schema, table);
    if (items.length > 0) return items;
  }
  return [];
}

/** When `node` is a bare name that PostgreSQL would read as a whole-row reference, the item it names. */
export function wholeRowItem(node: Node | undefined, cx: Cx): NsItem | undefined {
  if (node === undefined || !("ColumnRef" in node)) return undefined;
  const names = stringList(node.ColumnRef.fields);
  if (names.length !== 1 || (node.ColumnRef.fields ?? []).length !== 1) return undefined;
  const name = names[0] ?? "";
  // A column of that name at any level wins over a whole row (see resolveNames).
  for (let scope: Scope | undefined = cx.scope; scope !== undefined; scope = scope.parent) {
    if (hasColumn(scope, name)) return undefined;
  }
  for (let scope: Scope | undefined = cx.scope; scope !== undefined; scope = scope.parent) {
    const items = itemsNamed(scope, name);
    if (items.length === 1) return items[0];
    if (items.length > 1) return undefined;
  }
  return undefined;
}

/** Whether a column named `name` is (or, for an item of unknown shape, may be) visible at one level. */
function hasColumn(scope: Scope, name: string): boolean {
  for (const entry of scope.entries) {
    if (entry.open !== undefined) return true;
    for (const column of entry.columns) if (column.name === name) return true;
  }
  return false;
}

function resolveNames(names: string[], cx: Cx): Lineage {
  const first = names[0] ?? "";
  if (names.length === 1) {
    // As PostgreSQL does (colNameToVar, then a relation reference): a column of that name at any level, innermost
    // first, before a whole row of an item of that name at any level.
    for (let scope: Scope | undefined = cx.scope; scope !== undefined; scope = scope.parent) {
      const exact = exactColumn(scope, first);
      if (exact !== undefined) return exact;
      const open = openColumn(scope, first, cx.an);
      if (open !== undefined) {
        // An item of unknown shape (a function whose columns this analysis does not know) may or may not have
        // the column; PostgreSQL knows, and may resolve the name at an enclosing level instead: unresolved.
        cx.an.unresolved.add(first);
        return branches([open, unresolved(first, first, cx)]);
      }
    }
    for (let scope: Scope | undefined = cx.scope; scope !== undefined; scope = scope.parent) {
      const items = itemsNamed(scope, first);
      if (items.length > 0) return transformed(items.map(wholeRowLineage), TRANSFORM_BITS.whole_row);
    }
    return unresolved(first, first, cx);
  }
  for (let tableParts = Math.min(names.length - 1, 3); tableParts >= 1; tableParts--) {
    const items = findItems(names, cx.scope, tableParts);
    if (items.length === 0) continue;
    const column = names[tableParts] ?? "";
    const fields = names.length - tableParts - 1;
    const parts: Lineage[] = [];
    for (const item of items) {
      const lineage = itemColumn(item, column, cx.an);
      if (lineage !== undefined) parts.push(lineage);
      else if (item.relation !== undefined && !item.derived) {
        cx.an.unresolved.add(names.join("."));
        parts.push(cx.an.columnOf(item.relation, column).lineage);
      } else {
        cx.an.unresolved.add(names.join("."));
        parts.push(wholeRowLineage(item));
      }
    }
    const lineage = branches(parts);
    return fields > 0 ? transformed([lineage], TRANSFORM_BITS.other) : lineage;
  }
  for (let scope: Scope | undefined = cx.scope; scope !== undefined; scope = scope.parent) {
    if (hasColumn(scope, first)) return transformed([resolveNames([first], cx)], TRANSFORM_BITS.other);
  }
  return unresolved(names.join("."), names[names.length - 1] ?? first, cx);
}

/**
 * A name no item in scope has: PostgreSQL will refuse it unless the catalog is stale. Conservatively it is
 * attributed to every base relation in scope (any of them may have gained the column).
 */
function unresolved(name: string, column: string, cx: Cx): Lineage {
  cx.an.unresolved.add(name);
  const parts: Lineage[] = [];
  for (let scope: Scope | undefined = cx.scope; scope !== undefined; scope = scope.parent) {
    for (const entry of scope.entries) {
      for (const item of entry.items) {
        if (item.relation !== undefined && !item.derived) {
          parts.push(cx.an.columnOf(item.relation, column).lineage);
        }
      }
    }
  }
  return parts.length === 0 ? CONSTANT : branches(parts);
}
