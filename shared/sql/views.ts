// Sees through views: a view's columns carry the lineage of its definition (parsed once per catalog) as well as their own name.
import type { Node } from "@pgsql/types";
import type { Analysis } from "./analysis.ts";
import type { IndexedRelation } from "./catalog-index.ts";
import { isConstant, type Lineage } from "./lineage.ts";
import { PgSyntaxError, pgParse } from "./pg-wasm.ts";
import { analyzeQueryNode } from "./select.ts";

const MAX_VIEW_DEPTH = 16;
const trees = new WeakMap<IndexedRelation, Node | null>();

function viewTree(relation: IndexedRelation): Node | null {
  let tree = trees.get(relation);
  if (tree !== undefined) return tree;
  try {
    tree = relation.definition === undefined ? null : (pgParse(relation.definition).stmts?.[0]?.stmt ?? null);
  } catch (error) {
    if (!(error instanceof PgSyntaxError)) return null;
    tree = null;
  }
  trees.set(relation, tree);
  return tree;
}

function combine(own: Lineage, definition: Lineage | undefined): Lineage {
  if (definition === undefined || isConstant(definition)) return own;
  return {
    sources: [...own.sources, ...definition.sources.filter((s) => !own.sources.includes(s))],
    wholeRows: definition.wholeRows,
    transforms: definition.transforms,
    copy: definition.copy,
    opaque: definition.opaque,
  };
}

/**
 * For a view or materialized view with a known definition: its columns, each carrying the view column itself
 * and what the definition's matching output carries (relations the definition reads are recorded `via` the
 * view). Undefined for other relations, unparsable definitions, and views nested deeper than 16.
 */
export function viewColumns(
  relation: IndexedRelation,
  an: Analysis,
): { name: string; lineage: Lineage }[] | undefined {
  if (relation.kind !== "view" && relation.kind !== "matview") return undefined;
  if (an.viewStack.includes(relation.source) || an.viewStack.length >= MAX_VIEW_DEPTH) return undefined;
  const tree = viewTree(relation);
  if (tree === null) return undefined;
  an.viewStack.push(relation.source);
  let outputs: { lineage: Lineage }[];
  try {
    outputs = analyzeQueryNode(tree, undefined, an, 0, undefined);
  } finally {
    an.viewStack.pop();
  }
  return relation.columns.map((column, i) => ({
    name: column.column,
    lineage: combine(column.lineage, outputs[i]?.lineage),
  }));
}
