// classify(): the pure, synchronous analysis of one parsed statement against a catalog snapshot.
import type { Node } from "@pgsql/types";
import { BadRequestError } from "#shared/errors.ts";
import { packedAggregateCalls } from "./aggregate-calls.ts";
import { catalogIndex } from "./catalog-index.ts";
import { clauseList, isConstant, type Lineage, transformKinds } from "./lineage.ts";
import { analyzeStatementNode } from "./statements.ts";
import type {
  Catalog,
  Classification,
  ColumnAccess,
  ColumnExposure,
  ColumnRef,
  OutputColumnLineage,
  TableRef,
  WholeRowAccess,
  WholeRowExposure,
} from "./types.ts";
import { Analysis, AnalysisTooComplex, compare, sortSmall } from "./walk-state.ts";

function tagOf(node: Node): string {
  for (const tag in node) return tag;
  return "Unknown";
}

function byKey(a: { key: string }, b: { key: string }): number {
  return compare(a.key, b.key);
}

function byName(a: { schema?: string; name: string }, b: { schema?: string; name: string }): number {
  return compare(a.name, b.name) || compare(a.schema ?? "", b.schema ?? "");
}

function plainSources(lineage: Lineage): ColumnRef[] {
  const out: ColumnRef[] = [];
  for (const s of lineage.sources) out.push({ schema: s.schema, table: s.table, column: s.column });
  return out;
}

function plainRows(lineage: Lineage): TableRef[] {
  const out: TableRef[] = [];
  for (const r of lineage.wholeRows) out.push({ schema: r.schema, table: r.table });
  return out;
}

function outputLineage(name: string, lineage: Lineage, position: number): OutputColumnLineage {
  const kind = isConstant(lineage) ? "constant" : lineage.copy ? "copy" : "transform";
  return {
    position,
    name,
    kind,
    sources: plainSources(lineage),
    wholeRows: plainRows(lineage),
    transforms: kind === "transform" ? transformKinds(lineage.transforms) : [],
    opaque: lineage.opaque,
  };
}

/**
 * Classifies one parsed statement (see `parseStatement`) against `catalog`: kind, relations, columns with
 * clauses, functions, operators, whole-row references and output-column lineage. Pure and synchronous.
 * Throws `BadRequestError` (`invalid_sql`, reason `too_complex`) only for trees too deep to walk or needing
 * more work than the analysis budget allows.
 */
export function classify(statement: { readonly node: Node }, catalog: Catalog): Classification {
  const an = new Analysis(catalogIndex(catalog));
  let result: ReturnType<typeof analyzeStatementNode>;
  let packed: number;
  try {
    result = analyzeStatementNode(statement.node, an);
    packed = packedAggregateCalls(statement.node);
  } catch (error) {
    if (error instanceof RangeError || error instanceof AnalysisTooComplex) {
      throw new BadRequestError("invalid_sql", "The statement is too deeply nested to analyze.", {
        details: { reason: "too_complex" },
        cause: error,
      });
    }
    throw error;
  }
  const sourceColumns = sortSmall([...an.columns.keys()], byKey);
  const columns: ColumnAccess[] = [];
  for (const c of sourceColumns) {
    columns.push({
      schema: c.schema,
      table: c.table,
      column: c.column,
      clauses: clauseList(an.columns.get(c) ?? 0),
    });
  }
  const wholeRows: WholeRowAccess[] = [];
  for (const r of sortSmall([...an.wholeRows.keys()], byKey)) {
    wholeRows.push({ schema: r.schema, table: r.table, clauses: clauseList(an.wholeRows.get(r) ?? 0) });
  }
  const exposures: ColumnExposure[] = [];
  for (const c of sortSmall([...an.exposures.keys()], byKey)) {
    const via = sortSmall([...(an.exposures.get(c) ?? [])], compare);
    exposures.push({ schema: c.schema, table: c.table, column: c.column, via });
  }
  const wholeRowExposures: WholeRowExposure[] = [];
  for (const r of sortSmall([...an.rowExposures.keys()], byKey)) {
    const via = sortSmall([...(an.rowExposures.get(r) ?? [])], compare);
    wholeRowExposures.push({ schema: r.schema, table: r.table, via });
  }
  const outputs: OutputColumnLineage[] = [];
  for (let i = 0; i < result.outputs.length; i++) {
    const o = result.outputs[i] as (typeof result.outputs)[number];
    outputs.push(outputLineage(o.name, o.lineage, i));
  }
  const classification: { -readonly [K in keyof Classification]: Classification[K] } = {
    kind: result.kind,
    statementType: tagOf(statement.node),
    relations: an.relationAccesses(),
    columns,
    functions: sortSmall([...an.functions.values()], byName),
    wholeRows,
    outputs,
    limit: result.limit,
    paramCount: an.paramCount,
    exposures,
    wholeRowExposures,
    scans: sortSmall([...an.scans.keys()], byKey).map((r) => {
      const count = an.scans.get(r) ?? 0;
      return { schema: r.schema, table: r.table, scans: Number.isFinite(count) ? count : null };
    }),
    ...(an.conditionReads.size === 0
      ? {}
      : {
          conditionReads: sortSmall([...an.conditionReads.keys()], byKey).map((r) => {
            const count = an.conditionReads.get(r) ?? 0;
            return { schema: r.schema, table: r.table, scans: Number.isFinite(count) ? count : null };
          }),
        }),
    ...(an.choosers.size === 0
      ? {}
      : {
          choosers: sortSmall([...an.choosers], byKey).map((r) => ({ schema: r.schema, table: r.table })),
        }),
    ...(an.computedAggregates.size === 0
      ? {}
      : { computedAggregates: sortSmall([...an.computedAggregates], compare) }),
    ...(an.orderingKeys === 0 ? {} : { orderingKeys: an.orderingKeys }),
    ...(packed === 0 ? {} : { packedAggregates: packed }),
    ...(an.generatedRows.size === 0 ? {} : { generatedRows: sortSmall([...an.generatedRows], compare) }),
    ...(an.computedConditions === 0 ? {} : { computedConditions: an.computedConditions }),
    ...(an.subsetAggregates === 0 ? {} : { subsetAggregates: an.subsetAggregates }),
    ...(an.repeatedAggregates.size === 0
      ? {}
      : { repeatedAggregates: sortSmall([...an.repeatedAggregates], compare) }),
    lookupValues: an.lookupValues,
    operators: sortSmall([...an.operators.values()], byName),
    reasons: an.reasons.size === 0 ? NONE : sortSmall([...an.reasons], compare),
    unresolvedColumns: an.unresolved.size === 0 ? NONE : sortSmall([...an.unresolved], compare),
    outputsComplete: an.outputsComplete,
  };
  if (result.inner !== undefined) classification.inner = result.inner;
  if (result.explainAnalyze !== undefined) classification.explainAnalyze = result.explainAnalyze;
  if (result.copy !== undefined) classification.copy = result.copy;
  return classification;
}

const NONE: readonly string[] = Object.freeze([]);
