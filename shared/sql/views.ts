// Sees through views: a view's columns carry the lineage of its definition (parsed once per catalog) as well as their own name.
import type { Node } from "@pgsql/types";
import { BadRequestError, InternalError } from "#shared/errors.ts";
import type { IndexedRelation } from "./catalog-index.ts";
import { isConstant, type Lineage } from "./lineage.ts";
import { PgParserFault, pgParse } from "./pg-wasm.ts";
import { analyzeQueryNode } from "./select.ts";
import { type Analysis, AnalysisTooComplex } from "./walk-state.ts";

const MAX_VIEW_DEPTH = 16;
const trees = new WeakMap<IndexedRelation, Node | null>();

/**
 * The parse tree of a view's definition (null when the catalog has none). A definition that does not parse, or
 * a parser fault, is an error: treating the view as a plain table would drop the lineage of its columns.
 * Only successes are cached, so a transient fault is retried by the next statement.
 */
function viewTree(relation: IndexedRelation): Node | null {
  let tree = trees.get(relation);
  if (tree !== undefined) return tree;
  if (relation.definition === undefined) tree = null;
  else {
    try {
      tree = pgParse(relation.definition).stmts?.[0]?.stmt ?? null;
    } catch (error) {
      throw viewFailure(relation, error);
    }
    if (tree === null) throw viewFailure(relation, undefined);
  }
  trees.set(relation, tree);
  return tree;
}

function viewFailure(relation: IndexedRelation, cause: unknown): Error {
  const name = relation.source.key;
  if (cause instanceof PgParserFault) {
    if (cause.restarting) {
      return new BadRequestError("invalid_sql", "The SQL parser is restarting; retry shortly.", {
        details: { reason: "parser_unavailable" },
        cause,
      });
    }
    return new AnalysisTooComplex(`the definition of view ${name} is too complex to parse`, { cause });
  }
  return new InternalError(
    `The definition of view ${name} could not be analyzed; the statement was not run.`,
    cause === undefined ? {} : { cause },
  );
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
 * view). Undefined for other relations and views without a definition in the catalog (system views). Throws
 * `AnalysisTooComplex` for views nested deeper than 16 (or in a cycle), and an error when a definition cannot be
 * parsed: the view is never read as if it were a table.
 */
export function viewColumns(
  relation: IndexedRelation,
  an: Analysis,
): { name: string; lineage: Lineage }[] | undefined {
  if (relation.kind !== "view" && relation.kind !== "matview") return undefined;
  // Too deep, or a cycle (only a stale catalog has one): fail closed rather than read the view as a table.
  if (an.viewStack.length >= MAX_VIEW_DEPTH) {
    throw new AnalysisTooComplex(`views nested more than ${MAX_VIEW_DEPTH} deep`);
  }
  if (an.viewStack.includes(relation.source)) {
    throw new AnalysisTooComplex(`view ${relation.source.key} refers to itself`);
  }
  const tree = viewTree(relation);
  if (tree === null) return undefined;
  an.viewStack.push(relation.source);
  let outputs: { lineage: Lineage }[];
  try {
    outputs = analyzeQueryNode(tree, undefined, an, 0, undefined);
  } finally {
    an.viewStack.pop();
  }
  if (outputs.length < relation.columns.length) throw viewFailure(relation, undefined);
  return relation.columns.map((column, i) => ({
    name: column.column,
    lineage: combine(column.lineage, outputs[i]?.lineage),
  }));
}
