// The vocabulary of statement analysis: what a parsed statement is, what it touches, and where each output column comes from.

/** What a statement does, as far as the gateway's policy cares. */
export type StatementKind =
  | "read"
  | "write"
  | "ddl"
  | "utility"
  | "transaction"
  | "session"
  | "copy"
  | "explain"
  | "call"
  | "lock"
  | "unknown";

/** A relation in the database, schema-qualified (identifiers as PostgreSQL folds them). */
export interface TableRef {
  readonly schema: string;
  readonly table: string;
}

/** A base-table column, schema-qualified. */
export interface ColumnRef extends TableRef {
  readonly column: string;
}

/** The clause of a statement in which a column is read. */
export type ColumnClause =
  | "output"
  | "predicate"
  | "join"
  | "grouping"
  | "having"
  | "ordering"
  | "window"
  | "limit"
  | "other";

/** A relation a statement touches, resolved against the catalog and search path. */
export interface RelationAccess extends TableRef {
  /** `unknown` when the catalog has no such relation (the statement will fail at execution). */
  readonly kind: "table" | "view" | "matview" | "foreign" | "partitioned" | "sequence" | "unknown";
}

/** A base column read by a statement, with every clause it appears in. */
export interface ColumnAccess extends ColumnRef {
  readonly clauses: readonly ColumnClause[];
}

/** A function (or procedure, or aggregate) a statement calls. `schema` is set only when the SQL qualifies it. */
export interface FunctionCall {
  readonly schema?: string;
  readonly name: string;
}

/** A reference to a whole row of a table (`SELECT p FROM patients p`, `row_to_json(p)`, `p.*` inside a function). */
export interface WholeRowAccess extends TableRef {
  readonly clauses: readonly ColumnClause[];
}

/** How an output column derives from its sources. */
export type TransformKind =
  | "function"
  | "cast"
  | "operator"
  | "aggregate"
  | "window"
  | "json_xml"
  | "whole_row"
  | "case"
  | "coalesce"
  | "subquery"
  | "array"
  | "set_operation"
  | "other";

/** Lineage of one output column. */
export interface OutputColumnLineage {
  /** 0-based position in the result. */
  readonly position: number;
  /** The name PostgreSQL gives the column (alias, column name, function name or `?column?`). */
  readonly name: string;
  /**
   * `copy`: the value is exactly one source column's value (possibly through aliases, CTEs, subqueries,
   * or a set operation whose every branch is a copy); `transform`: derived from sources by at least one
   * transformation; `constant`: depends on no column at all.
   */
  readonly kind: "copy" | "transform" | "constant";
  /** Every base column the value can depend on (data flow, not predicates). */
  readonly sources: readonly ColumnRef[];
  /** Every table whose whole row the value can depend on. */
  readonly wholeRows: readonly TableRef[];
  /** The transformations applied on any path from a source to the output. Empty for copies and constants. */
  readonly transforms: readonly TransformKind[];
}

/** Everything the gateway knows about one statement before it runs. */
export interface Classification {
  readonly kind: StatementKind;
  /** The parse tree's top-level node type, e.g. `SelectStmt`. */
  readonly statementType: string;
  readonly relations: readonly RelationAccess[];
  readonly columns: readonly ColumnAccess[];
  readonly functions: readonly FunctionCall[];
  readonly wholeRows: readonly WholeRowAccess[];
  /** Output columns in order; empty for statements that return no rows. */
  readonly outputs: readonly OutputColumnLineage[];
  /** The outermost LIMIT when it is a constant, else null. */
  readonly limit: number | null;
  /** Number of `$n` parameters the statement references (the highest n). */
  readonly paramCount: number;
}

/** One column of a relation in the catalog. */
export interface CatalogColumn {
  readonly name: string;
  /** `format_type` text, e.g. `text`, `date`, `integer`, `timestamp with time zone`. */
  readonly type: string;
}

/** One relation in the catalog, columns in attribute order (dropped columns excluded). */
export interface CatalogRelation extends TableRef {
  readonly kind: RelationAccess["kind"];
  readonly columns: readonly CatalogColumn[];
}

/** A snapshot of the database's catalog, enough to resolve names and expand `*`. */
export interface Catalog {
  /** Changes whenever the catalog's content changes (a digest of it). */
  readonly version: string;
  /** The effective search path, in order (e.g. `["public"]`; `pg_catalog` is implicit first). */
  readonly searchPath: readonly string[];
  readonly relations: readonly CatalogRelation[];
}

/** A value in a result row, as JSON (see docs/design.md "Values"). */
export type CellValue = string | number | boolean | null | CellValue[] | { [key: string]: CellValue };

/** One result row, in output-column order. */
export type Row = CellValue[];

/** Metadata of one result column as the executor reports it. */
export interface ResultColumn {
  readonly name: string;
  /** PostgreSQL type OID. */
  readonly typeOid: number;
  /** Type name, e.g. `int4`, `text`, `date`, `timestamptz`, `_text` for arrays. */
  readonly type: string;
}
