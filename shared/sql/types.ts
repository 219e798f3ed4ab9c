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

/**
 * The clause of a statement in which a column is read. `limit` is anything that decides how many rows come out
 * without filtering them: LIMIT / OFFSET, the arguments of set-returning functions, TABLESAMPLE, and the
 * documents of XMLTABLE / JSON_TABLE.
 */
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
  /** How the statement uses the relation (always set by `classify`; optional for hand-built fixtures). */
  readonly access?: readonly RelationAccessMode[];
  /**
   * The views through whose definitions the relation is reached. Absent or empty when the statement names
   * the relation itself; a relation both named and reached through a view lists the views and `direct: true`.
   */
  readonly via?: readonly TableRef[];
  /** False when the relation is reached only through a view's definition. */
  readonly direct?: boolean;
}

/** How a statement uses a relation. */
export type RelationAccessMode = "read" | "write" | "lock" | "ddl" | "other";

/** A base column read by a statement, with every clause it appears in. */
export interface ColumnAccess extends ColumnRef {
  readonly clauses: readonly ColumnClause[];
}

/** A function (or procedure, or aggregate) a statement calls. `schema` is set only when the SQL qualifies it. */
export interface FunctionCall {
  readonly schema?: string;
  readonly name: string;
  /**
   * `system`: a built-in (or assumed built-in: not found among user-defined routines); `user`: a routine
   * defined in a non-system schema of the catalog, whose body the gateway cannot see. Always set by `classify`.
   */
  readonly origin?: "system" | "user";
  /** Function-like syntax (`COALESCE`, `GREATEST`, `CURRENT_USER`, `XMLELEMENT`, `JSON_OBJECT`, ...) rather than a call. */
  readonly syntax?: boolean;
  /**
   * For a built-in: the most volatile overload's volatility in the catalog's `pg_proc` (absent: the catalog lists
   * no built-in of that name).
   */
  readonly volatility?: "immutable" | "stable" | "volatile";
}

/** An operator a statement uses (`=`, `||`, `~~` for LIKE, ...). Operators are functions in disguise. */
export interface OperatorCall {
  readonly schema?: string;
  readonly name: string;
  /** As for {@link FunctionCall.origin}: `user` when a user-defined operator of that name exists. */
  readonly origin: "system" | "user";
}

/** A reference to a whole row of a table (`SELECT p FROM patients p`, `row_to_json(p)`, `p.*` inside a function). */
export interface WholeRowAccess extends TableRef {
  readonly clauses: readonly ColumnClause[];
}

/**
 * The constructs a base column's value passes through anywhere in a statement (other than reaching an output
 * column, which {@link OutputColumnLineage} describes): `function:<name>`, `operator:<name>`, `cast:<type>`,
 * `where`, `join_on`, `group_by`, `order_by`, `distinct`, `set_operation:<op>`, `recursive_cte`, `cycle`,
 * `window_partition`, `limit`, `srf_argument`, `case_condition`, `case_result`, `coalesce`, `count`,
 * `null_test`, `lookup`, `equi_join:<schema.table.column>[+<another column holding the same value>]`, ... The policy's opacity rules decide which of them
 * a protected column may have (docs/masking.md).
 */
export interface ColumnExposure extends ColumnRef {
  readonly via: readonly string[];
}

/** The constructs a whole row of a table passes through (as {@link ColumnExposure}). */
export interface WholeRowExposure extends TableRef {
  readonly via: readonly string[];
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
   *
   * A copy may list several `sources` when each value is, unchanged, the value of one of them: a set
   * operation whose non-constant branches are all copies (`SELECT ssn ... UNION SELECT first_name ...`
   * lists both), a `JOIN ... USING` / NATURAL column (both sides), a column read through a view (the
   * view's column and the base column it copies).
   */
  readonly kind: "copy" | "transform" | "constant";
  /** Every base column the value can depend on (data flow, not predicates). */
  readonly sources: readonly ColumnRef[];
  /** Every table whose whole row the value can depend on. */
  readonly wholeRows: readonly TableRef[];
  /** The transformations applied on any path from a source to the output. Empty for copies and constants. */
  readonly transforms: readonly TransformKind[];
  /**
   * True when the value passes through a user-defined routine: its body may read any table, so `sources`
   * are the known inputs only and the value must be treated as able to carry anything. Always set by `classify`.
   */
  readonly opaque?: boolean;
}

/** How many times a statement scans one relation ({@link Classification.scans}). */
export interface RelationScans extends TableRef {
  /** `null`: an unknown number. */
  readonly scans: number | null;
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
  /** Every construct each column's value passes through, by column (sorted). */
  readonly exposures: readonly ColumnExposure[];
  /** Every construct each whole row passes through, by table (sorted). */
  readonly wholeRowExposures: readonly WholeRowExposure[];
  /**
   * How many times the statement scans each relation it reads (sorted): every FROM reference, including those in
   * subqueries, LATERAL items, scalar subqueries and views, and each reference to a CTE repeating its body's
   * scans; `null` when the number is unknown (a relation read inside WITH RECURSIVE). What the risk rules weigh a
   * result row's PHI rows by (`shared/policy/risk.ts`). Absent in records made before analyzer 4.
   */
  readonly scans?: readonly RelationScans[];
  /**
   * The relations read inside a subquery that only decides a condition (EXISTS, IN, ANY, ALL, a subquery in WHERE,
   * ON, HAVING, ORDER BY...; sorted; absent when none): no value of theirs reaches a row, but a condition's outcome
   * may shape every cell (`CASE WHEN EXISTS (...) THEN 'x' END`); `scans` counts the subqueries' scans of it
   * (`null` inside WITH RECURSIVE). Absent in records made before analyzer 5.
   */
  readonly conditionReads?: readonly RelationScans[];
  /**
   * The relations whose rows may decide which of many other rows come back (sorted; absent when none): read by a
   * condition subquery not tied to the row it decides, by an outer join's other side not tied to it
   * (`shared/sql/ties.ts`), under a LATERAL subquery, by any branch of an EXCEPT, INTERSECT or UNION (not UNION
   * ALL), or joined at a level with DISTINCT or GROUP BY. A row chosen among N candidates says up to log2 N bits
   * of what the choosers read (`shared/policy/risk.ts`). Absent in records made before analyzer 7.
   */
  readonly choosers?: readonly TableRef[];
  /**
   * The built-in aggregates computed over rows that may repeat (sorted; absent when none): called at a query level,
   * or under one, whose FROM is not one table scanned once (a join, a second item, a function, VALUES, a subquery,
   * a CTE, a view). A count over repeated rows is a weighted sum (`shared/policy/risk.ts`). Absent in records made
   * before analyzer 6.
   */
  readonly repeatedAggregates?: readonly string[];
  /**
   * The built-in aggregates other than `count` called anywhere (ORDER BY, HAVING, a WHERE subquery as well as the
   * result) over a value that is not a column as it is, or a cast of one (sorted; absent when none):
   * `1 * bool_or(code = 'I10')::int + 2 * bool_or(code = 'J06.9')::int ...` packs a group's facts into one value.
   * Absent in records made before analyzer 6.
   */
  readonly computedAggregates?: readonly string[];
  /**
   * How many ORDER BY items, at any level, are neither an output column nor a column as it is: the order of the
   * rows carries each such key's value as a cell would (absent when none). Absent in records made before analyzer 6.
   */
  readonly orderingKeys?: number;
  /**
   * How many aggregate calls the statement makes beyond one per top-level result cell or ORDER BY key holding any
   * (absent when none): each is a value a cell can carry (`shared/sql/aggregate-calls.ts`). Absent in records made
   * before analyzer 6.
   */
  readonly packedAggregates?: number;
  /**
   * Rows the statement makes without reading a relation (sorted; absent when none): `function_in_from` (a
   * set-returning function, `ROWS FROM`), `values` (VALUES of more than one row), `set_operation` (a UNION, INTERSECT
   * or EXCEPT with a SELECT without FROM among its branches). Candidates a condition over a PHI
   * table can choose among (`shared/policy/risk.ts`). Absent in records made before analyzer 6.
   */
  readonly generatedRows?: readonly string[];
  /**
   * How many comparisons and calls inside a subquery that decides a condition take a computed value of a column
   * (`(p.sex = 'F')::int <> (g >> (p.id - 1)) & 1`) rather than columns as they are and constants (absent when
   * none). Absent in records made before analyzer 6.
   */
  readonly computedConditions?: number;
  /**
   * Aggregate calls that pick their own subset of the rows they aggregate (absent when none): a FILTER clause, or a
   * count of an argument that is not a column as it is (`count(CASE WHEN ... THEN 1 END)`). Each says up to log2 of
   * the rows it may count about them, and many in one row count overlapping subsets whose sizes decode each row's
   * fact (`shared/policy/risk.ts`). Absent in records made before analyzer 8.
   */
  readonly subsetAggregates?: number;
  /** How many literals and parameters are compared with a column in lookup position (`col = 'x'`, `IN (...)`). */
  readonly lookupValues: number;
  /** Operators used, deduplicated (see {@link OperatorCall}). Always set by `classify`. */
  readonly operators?: readonly OperatorCall[];
  /**
   * Why a statement that reads is not classified `read` (e.g. `data_modifying_cte`, `select_into`,
   * `locking_clause`, `function:nextval`, `user_function:public.f`). Always set by `classify`.
   */
  readonly reasons?: readonly string[];
  /** For EXPLAIN, PREPARE, DECLARE CURSOR, CREATE VIEW / TABLE AS, COPY (query): the embedded statement. */
  readonly inner?: { readonly kind: StatementKind; readonly statementType: string };
  /** EXPLAIN with ANALYZE (the statement is executed). */
  readonly explainAnalyze?: boolean;
  /** COPY's direction and endpoint; `program` runs a server-side shell command. */
  readonly copy?: {
    readonly direction: "to" | "from";
    readonly target: "stdio" | "file" | "program";
    /** The file name or command, as written (only for `file` and `program`). */
    readonly location?: string;
  };
  /** Column names no relation in scope has (PostgreSQL will refuse them, or the catalog is stale). */
  readonly unresolvedColumns?: readonly string[];
  /**
   * False when `outputs` may not list every result column (`*` over a relation or a set-returning
   * function whose columns the catalog does not know). Consumers must fail closed on a count mismatch.
   */
  readonly outputsComplete?: boolean;
}

/** One column of a relation in the catalog. */
export interface CatalogColumn {
  readonly name: string;
  /** `format_type` text, e.g. `text`, `date`, `integer`, `timestamp with time zone`. */
  readonly type: string;
  /**
   * True when a unique index on this column alone (no predicate, no expression) exists: no two rows share a
   * non-null value. Absent: not known to be unique (views, catalogs read before analyzer 7).
   */
  readonly unique?: true;
}

/** One relation in the catalog, columns in attribute order (dropped columns excluded). */
export interface CatalogRelation extends TableRef {
  readonly kind: RelationAccess["kind"];
  readonly columns: readonly CatalogColumn[];
  /** For views and materialized views outside the system schemas: `pg_get_viewdef` text, for lineage. */
  readonly definition?: string;
}

/** A user-defined routine or operator name (all overloads of one schema-qualified name together). */
export interface CatalogRoutine {
  readonly schema: string;
  readonly name: string;
  /** The kinds of the overloads with this name. */
  readonly kinds: readonly ("function" | "procedure" | "aggregate" | "window" | "operator")[];
  /** The most volatile overload's volatility (for operators: of the implementing function). */
  readonly volatility: "immutable" | "stable" | "volatile";
  /**
   * Some overload returns a set (`pg_proc.proretset`): a call makes rows without reading a relation. Absent in
   * catalogs read before analyzer 8, where the hand-kept list stands alone.
   */
  readonly returnsSet?: true;
}

/** A snapshot of the database's catalog, enough to resolve names and expand `*`. */
export interface Catalog {
  /** Changes whenever the catalog's content changes (a digest of it). */
  readonly version: string;
  /** The effective search path, in order (e.g. `["public"]`; `pg_catalog` is implicit first). */
  readonly searchPath: readonly string[];
  readonly relations: readonly CatalogRelation[];
  /** Routines and operators defined outside `pg_catalog` and `information_schema` (absent: none known). */
  readonly routines?: readonly CatalogRoutine[];
  /**
   * The routines of `pg_catalog` and `information_schema` by name, with their most volatile overload's
   * volatility: what the function rule admits built-in calls by (absent: none known, so none is admitted).
   */
  readonly builtins?: readonly CatalogRoutine[];
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
