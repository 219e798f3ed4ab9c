// classify(): the pure, synchronous analysis of one parsed statement against a catalog snapshot.
import type { Node } from "@pgsql/types";
import { BadRequestError } from "#shared/errors.ts";
import { Analysis, compare } from "./analysis.ts";
import { catalogIndex } from "./catalog-index.ts";
import { clauseList, isConstant, type Lineage, transformKinds } from "./lineage.ts";
import { analyzeStatementNode } from "./statements.ts";
import type { Catalog, Classification, ColumnRef, OutputColumnLineage, TableRef } from "./types.ts";

function tagOf(node: Node): string {
  for (const tag in node) return tag;
  return "Unknown";
}

function outputLineage(name: string, lineage: Lineage, position: number): OutputColumnLineage {
  const kind = isConstant(lineage) ? "constant" : lineage.copy ? "copy" : "transform";
  return {
    position,
    name,
    kind,
    sources: lineage.sources.map((s): ColumnRef => ({ schema: s.schema, table: s.table, column: s.column })),
    wholeRows: lineage.wholeRows.map((r): TableRef => ({ schema: r.schema, table: r.table })),
    transforms: kind === "transform" ? transformKinds(lineage.transforms) : [],
    opaque: lineage.opaque,
  };
}

/**
 * Classifies one parsed statement (see `parseStatement`) against `catalog`: kind, relations, columns with
 * clauses, functions, operators, whole-row references and output-column lineage. Pure and synchronous.
 * Throws `BadRequestError` (`invalid_sql`, reason `too_complex`) only for trees too deep to walk.
 */
export function classify(statement: { readonly node: Node }, catalog: Catalog): Classification {
  const an = new Analysis(catalogIndex(catalog));
  let result: ReturnType<typeof analyzeStatementNode>;
  try {
    result = analyzeStatementNode(statement.node, an);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new BadRequestError("invalid_sql", "The statement is too deeply nested to analyze.", {
        details: { reason: "too_complex" },
        cause: error,
      });
    }
    throw error;
  }
  const columns = [...an.columns]
    .map(([c, bits]) => ({ schema: c.schema, table: c.table, column: c.column, clauses: clauseList(bits) }))
    .sort((a, b) => compare(a.schema, b.schema) || compare(a.table, b.table) || compare(a.column, b.column));
  const wholeRows = [...an.wholeRows]
    .map(([r, bits]) => ({ schema: r.schema, table: r.table, clauses: clauseList(bits) }))
    .sort((a, b) => compare(a.schema, b.schema) || compare(a.table, b.table));
  const byName = (a: { schema?: string; name: string }, b: { schema?: string; name: string }) =>
    compare(a.name, b.name) || compare(a.schema ?? "", b.schema ?? "");
  return {
    kind: result.kind,
    statementType: tagOf(statement.node),
    relations: an.relationAccesses(),
    columns,
    functions: [...an.functions.values()].sort(byName),
    wholeRows,
    outputs: result.outputs.map((o, i) => outputLineage(o.name, o.lineage, i)),
    limit: result.limit,
    paramCount: an.paramCount,
    operators: [...an.operators.values()].sort(byName),
    reasons: [...an.reasons].sort(compare),
    ...(result.inner ? { inner: result.inner } : {}),
    ...(result.explainAnalyze !== undefined ? { explainAnalyze: result.explainAnalyze } : {}),
    ...(result.copy ? { copy: result.copy } : {}),
    unresolvedColumns: [...an.unresolved].sort(compare),
    outputsComplete: an.outputsComplete,
  };
}
