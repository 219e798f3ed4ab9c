// The state of one statement's analysis: everything touched so far, recorded as the walk goes.
import type { Node } from "@pgsql/types";
import {
  type CatalogIndex,
  type IndexedRelation,
  makeColumn,
  SYSTEM_SCHEMAS,
  unknownRelation,
} from "./catalog-index.ts";
import {
  DYNAMIC_SQL_FUNCTIONS,
  LOCK_FUNCTIONS,
  OPAQUE_READ_FUNCTIONS,
  SESSION_FUNCTIONS,
  WRITE_FUNCTIONS,
} from "./known-functions.ts";
import { CLAUSE_VIA, type Lineage, type SourceColumn, type SourceRelation } from "./lineage.ts";
import type { FunctionCall, OperatorCall, RelationAccess, RelationAccessMode } from "./types.ts";

/** Statement-level effects found while walking; they decide whether a SELECT is still a `read`. */
export const EFFECT = { write: 1, lock: 2, call: 4, session: 8 } as const;

/** Bits of {@link RelationAccessMode}. */
export const ACCESS = { read: 1, write: 2, lock: 4, ddl: 8, other: 16 } as const;

const ACCESS_ORDER: readonly RelationAccessMode[] = ["read", "write", "lock", "ddl", "other"];

interface RelationUse {
  readonly relation: IndexedRelation;
  modes: number;
  direct: boolean;
  readonly via: SourceRelation[];
}

/** Thrown when a statement needs more analysis work than {@link ANALYSIS_BUDGET} allows. */
export class AnalysisTooComplex extends Error {
  override readonly name = "AnalysisTooComplex";
}

/**
 * Expression visits one statement may cost. A 1 MB statement has a few hundred thousand nodes; the budget
 * bounds what re-analysis (recursive CTE fixed points nested in each other, views used many times) can add.
 */
export const ANALYSIS_BUDGET = 2_000_000;

/** Accumulates what a statement touches. One per `classify` call. */
export class Analysis {
  readonly relations = new Map<SourceRelation, RelationUse>();
  readonly columns = new Map<SourceColumn, number>();
  readonly wholeRows = new Map<SourceRelation, number>();
  /** Every construct each column's value passes through (see {@link Analysis.expose}). */
  readonly exposures = new Map<SourceColumn, Set<string>>();
  /** Every construct each whole row passes through. */
  readonly rowExposures = new Map<SourceRelation, Set<string>>();
  /**
   * How many times each relation is scanned where its values may reach the result: every FROM reference (views,
   * subqueries, LATERAL and scalar subqueries are walked where they stand), each reference to a CTE after the
   * first adding its body's scans again; `Infinity` for a relation scanned in a WITH RECURSIVE list (its
   * iterations are not counted). Scans inside a subquery whose rows only decide a condition (EXISTS, IN, ANY,
   * ALL, or any subquery outside the select list) are not counted: none of their values reaches a result row.
   */
  readonly scans = new Map<SourceRelation, number>();
  /** How many SELECTs are being walked, the statement's own outermost one being 1 (its LIMIT is no position). */
  selectDepth = 0;
  /** Above 0 while walking a subquery whose scans are not counted (see {@link Analysis.scans}). */
  conditionDepth = 0;
  /**
   * How many times each relation is read inside a subquery whose rows only decide a condition (EXISTS, IN, a
   * subquery in WHERE...): none of their values reaches a row, but each condition's outcome may
   * (`CASE WHEN EXISTS (...)`); `Infinity` inside WITH RECURSIVE.
   */
  readonly conditionReads = new Map<SourceRelation, number>();
  /** Relations read where they may decide which of many other rows come back (`Classification.choosers`). */
  readonly choosers = new Set<SourceRelation>();
  /** The relations read while each open {@link Analysis.readsDuring} walk runs, innermost last. */
  private readonly readers: Set<SourceRelation>[] = [];
  /** Built-in aggregates called over rows that may repeat (`Classification.repeatedAggregates`). */
  readonly repeatedAggregates = new Set<string>();
  /** Built-in aggregates other than count called over a computed value (`Classification.computedAggregates`). */
  readonly computedAggregates = new Set<string>();
  /** ORDER BY items that are neither an output nor a column as it is (`Classification.orderingKeys`). */
  orderingKeys = 0;
  /** Rows made without reading a relation (`Classification.generatedRows`). */
  readonly generatedRows = new Set<string>();
  /** Computed operands inside condition subqueries (`Classification.computedConditions`). */
  computedConditions = 0;
  /** Aggregate calls that pick their own rows (`Classification.subsetAggregates`). */
  subsetAggregates = 0;
  /** Literals and parameters compared with columns in lookup position (`col = 'x'`, `col IN (...)`). */
  lookupValues = 0;
  readonly functions = new Map<string, FunctionCall>();
  readonly operators = new Map<string, OperatorCall>();
  readonly reasons = new Set<string>();
  readonly unresolved = new Set<string>();
  private opaqueFunctions: Set<string> | undefined;
  /** Views whose definitions are being walked, outermost first. */
  readonly viewStack: SourceRelation[] = [];
  effects = 0;
  paramCount = 0;
  /** Expression visits left before the analysis gives up (see {@link ANALYSIS_BUDGET}). */
  budget = ANALYSIS_BUDGET;
  outputsComplete = true;
  private placeholders: Map<string, IndexedRelation> | undefined;
  private placeholderColumns: Map<string, SourceColumn> | undefined;

  constructor(readonly index: CatalogIndex) {}

  /** The relation a name resolves to, or an interned placeholder of kind `unknown`. */
  resolveRelation(schema: string | undefined, name: string): IndexedRelation {
    const found = this.index.relation(schema, name);
    if (found !== undefined) return found;
    const placeholderSchema = schema ?? this.index.defaultSchema;
    const key = `${placeholderSchema}.${name}`;
    this.placeholders ??= new Map();
    let placeholder = this.placeholders.get(key);
    if (placeholder === undefined) {
      placeholder = unknownRelation(placeholderSchema, name);
      this.placeholders.set(key, placeholder);
    }
    return placeholder;
  }

  /** The column `column` of `relation`: the catalog's, or an interned placeholder when the catalog lacks it. */
  columnOf(relation: IndexedRelation, column: string): SourceColumn {
    return relation.columnsByName.get(column) ?? this.unknownColumn(relation.source, column);
  }

  /** An interned source for a column the catalog does not list. */
  private unknownColumn(relation: SourceRelation, column: string): SourceColumn {
    const key = `${relation.key}.${column}`;
    this.placeholderColumns ??= new Map();
    let found = this.placeholderColumns.get(key);
    if (found === undefined) {
      found = makeColumn(relation, column);
      this.placeholderColumns.set(key, found);
    }
    return found;
  }

  /**
   * The full scans of each CTE body being walked, innermost last: its own scans plus, for every reference it makes
   * to another CTE, that CTE's full scans (a first reference included, unlike {@link Analysis.scans}, which
   * counted the referenced body where it was defined). What each reference of the CTE reads again.
   */
  private readonly bodyScans: Map<SourceRelation, number>[] = [];

  /** Adds `count` scans of `relation` (see {@link Analysis.scans}), to the statement and to the body walked. */
  addScans(relation: SourceRelation, count: number): void {
    this.noteRead(relation);
    // A CTE body's condition reads are read again with it (and once per iteration in WITH RECURSIVE).
    this.addBodyScans(relation, count);
    if (this.conditionDepth > 0) {
      this.conditionReads.set(relation, (this.conditionReads.get(relation) ?? 0) + count);
      return;
    }
    this.scans.set(relation, (this.scans.get(relation) ?? 0) + count);
  }

  private addBodyScans(relation: SourceRelation, count: number): void {
    const body = this.bodyScans[this.bodyScans.length - 1];
    if (body !== undefined) body.set(relation, (body.get(relation) ?? 0) + count);
  }

  /**
   * Notes a reference to a CTE whose body reads `scans` in full: the statement's count grows by them except at the
   * first reference (its body's scans were counted where it was defined); the enclosing CTE body's always does.
   */
  referenceScans(scans: ReadonlyMap<SourceRelation, number> | undefined, first: boolean): void {
    if (scans === undefined) return;
    for (const relation of scans.keys()) this.noteRead(relation);
    if (this.conditionDepth > 0) {
      for (const [relation, count] of scans) {
        this.conditionReads.set(relation, (this.conditionReads.get(relation) ?? 0) + count);
        this.addBodyScans(relation, count);
      }
      return;
    }
    for (const [relation, count] of scans) {
      if (first) this.addBodyScans(relation, count);
      else this.addScans(relation, count);
    }
  }

  private noteRead(relation: SourceRelation): void {
    for (const reads of this.readers) reads.add(relation);
  }

  /**
   * Runs `walk` and returns what it returns with the relations it read (scans and condition reads, a CTE's body
   * with each reference to it).
   */
  readsDuring<T>(walk: () => T): { result: T; reads: Set<SourceRelation> } {
    const reads = new Set<SourceRelation>();
    this.readers.push(reads);
    try {
      return { result: walk(), reads };
    } finally {
      this.readers.pop();
    }
  }

  /** Notes that the rows of `relations` may decide which of many other rows come back (`Classification.choosers`). */
  choose(relations: Iterable<SourceRelation>): void {
    for (const relation of relations) this.choosers.add(relation);
  }

  /** Walks a CTE body and returns its full scans (see {@link Analysis.bodyScans}). */
  bodyScansOf(walk: () => void): Map<SourceRelation, number> {
    const body = new Map<SourceRelation, number>();
    this.bodyScans.push(body);
    try {
      walk();
    } finally {
      this.bodyScans.pop();
    }
    return body;
  }

  /** Notes that the statement uses `relation` in the given {@link ACCESS} mode. */
  touchRelation(relation: IndexedRelation, mode: number): void {
    let use = this.relations.get(relation.source);
    if (use === undefined) {
      use = { relation, modes: 0, direct: false, via: [] };
      this.relations.set(relation.source, use);
    }
    use.modes |= mode;
    if (this.viewStack.length === 0) use.direct = true;
    for (const view of this.viewStack) if (!use.via.includes(view)) use.via.push(view);
  }

  /**
   * Records every column and whole row `lineage` carries as read in `clause` (a clause bit; 0 records nothing),
   * and exposes them to `via` (by default the construct the clause stands for, see {@link CLAUSE_VIA}; `""`
   * records the clause without an exposure, for the shapes that record their own).
   */
  record(lineage: Lineage, clause: number, via?: string): void {
    if (clause === 0) return;
    const construct = via ?? CLAUSE_VIA.get(clause);
    if (construct !== undefined && construct !== "") this.expose(lineage, construct);
    const sources = lineage.sources;
    for (let i = 0; i < sources.length; i++) {
      const column = sources[i] as SourceColumn;
      this.columns.set(column, (this.columns.get(column) ?? 0) | clause);
    }
    const rows = lineage.wholeRows;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as SourceRelation;
      this.wholeRows.set(row, (this.wholeRows.get(row) ?? 0) | clause);
    }
  }

  /**
   * Notes that every column and whole row `lineage` carries passes through `via`: a construct named as the
   * policy's opacity rules name it (`function:substr`, `where`, `group_by`, `lookup`, `equi_join:<column>`...).
   * Exposures are recorded for every column; which of them are allowed is the policy's decision.
   */
  expose(lineage: Lineage, via: string): void {
    const sources = lineage.sources;
    for (let i = 0; i < sources.length; i++) this.exposeColumn(sources[i] as SourceColumn, via);
    const rows = lineage.wholeRows;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as SourceRelation;
      let set = this.rowExposures.get(row);
      if (set === undefined) {
        set = new Set();
        this.rowExposures.set(row, set);
      }
      set.add(via);
    }
  }

  /** Notes that `column`'s value passes through `via`. */
  exposeColumn(column: SourceColumn, via: string): void {
    let set = this.exposures.get(column);
    if (set === undefined) {
      set = new Set();
      this.exposures.set(column, set);
    }
    set.add(via);
  }

  /**
   * Inside a subquery that decides a condition, notes each operand that is a computed value of a column (not the
   * column as it is, not a constant): a condition comparing computed values can test many rows' bits at once.
   */
  conditionOperands(operands: readonly Lineage[]): void {
    if (this.conditionDepth === 0) return;
    for (const operand of operands)
      if (!operand.copy && (operand.sources.length > 0 || operand.wholeRows.length > 0))
        this.computedConditions++;
  }

  /** Marks the statement as having an effect, with the reason shown to policy. */
  effect(bit: number, reason: string): void {
    this.effects |= bit;
    this.reasons.add(reason);
  }

  /**
   * Records a call of `schema.name` (`schema` only when the SQL qualifies it); `syntax` for function-like
   * syntax. Returns true when the call's value is opaque: a user-defined routine may be called, or a built-in
   * that runs SQL given as text or reads data from outside the statement's relations.
   */
  addFunction(schema: string | undefined, name: string, syntax = false): boolean {
    // Syntax (`SIMILAR TO` → similar_to_escape) is keyed apart from calls the SQL wrote: a call of a user
    // routine of the same name must still get its user-routine lookup.
    const key = syntax ? ` syntax ${name}` : schema === undefined ? name : `${schema}.${name}`;
    const known = this.functions.get(key);
    if (known !== undefined) return this.opaqueFunctions?.has(key) === true;
    const candidates =
      syntax || (schema !== undefined && SYSTEM_SCHEMAS.has(schema))
        ? NONE
        : this.index.userRoutines(schema, name, false);
    const user = candidates.length > 0;
    const call: {
      schema?: string;
      name: string;
      origin: "user" | "system";
      syntax?: boolean;
      volatility?: "immutable" | "stable" | "volatile";
    } = {
      name,
      origin: user ? "user" : "system",
    };
    if (schema !== undefined) call.schema = schema;
    if (syntax) call.syntax = true;
    if (!user) {
      const volatility = this.index.builtinVolatility(schema, name);
      if (volatility !== undefined) call.volatility = volatility;
    }
    this.functions.set(key, call);
    for (const routine of candidates)
      this.effect(EFFECT.call, `user_function:${routine.schema}.${routine.name}`);
    let opaque = user;
    if (schema === undefined || schema === "pg_catalog") {
      if (WRITE_FUNCTIONS.has(name)) this.effect(EFFECT.write, `function:${name}`);
      else if (LOCK_FUNCTIONS.has(name)) this.effect(EFFECT.lock, `function:${name}`);
      else if (SESSION_FUNCTIONS.has(name)) this.effect(EFFECT.session, `function:${name}`);
      else if (DYNAMIC_SQL_FUNCTIONS.has(name)) {
        this.effect(EFFECT.call, `dynamic_sql:${name}`);
        opaque = true;
      } else if (OPAQUE_READ_FUNCTIONS.has(name)) {
        this.reasons.add(`opaque_read:${name}`);
        opaque = true;
      }
    }
    if (opaque) {
      this.opaqueFunctions ??= new Set();
      this.opaqueFunctions.add(key);
    }
    return opaque;
  }

  /** Records the operator `schema.name`; returns true when a user-defined one may be used. */
  addOperator(schema: string | undefined, name: string): boolean {
    const key = schema === undefined ? name : `${schema}.${name}`;
    const known = this.operators.get(key);
    if (known !== undefined) return known.origin === "user";
    const candidates =
      schema !== undefined && SYSTEM_SCHEMAS.has(schema) ? NONE : this.index.userRoutines(schema, name, true);
    const user = candidates.length > 0;
    const operator: { schema?: string; name: string; origin: "user" | "system" } = {
      name,
      origin: user ? "user" : "system",
    };
    if (schema !== undefined) operator.schema = schema;
    this.operators.set(key, operator);
    for (const routine of candidates)
      this.effect(EFFECT.call, `user_operator:${routine.schema}.${routine.name}`);
    return user;
  }

  /** Notes a `$n` parameter. */
  addParam(number: number | undefined): void {
    if (number !== undefined && number > this.paramCount) this.paramCount = number;
  }

  /** The relation accesses, sorted by schema and name. */
  relationAccesses(): RelationAccess[] {
    const uses = sortSmall([...this.relations.values()], byRelationKey);
    const out: RelationAccess[] = [];
    for (const use of uses) {
      const source = use.relation.source;
      const access: RelationAccess = {
        schema: source.schema,
        table: source.table,
        kind: use.relation.kind,
        access: accessModes(use.modes),
        direct: use.direct,
      };
      if (use.via.length === 0) out.push(access);
      else out.push({ ...access, via: use.via.map((view) => ({ schema: view.schema, table: view.table })) });
    }
    return out;
  }
}

function byRelationKey(a: RelationUse, b: RelationUse): number {
  return compare(a.relation.source.key, b.relation.source.key);
}

const modeLists = new Map<number, readonly RelationAccessMode[]>();

function accessModes(bits: number): readonly RelationAccessMode[] {
  let modes = modeLists.get(bits);
  if (modes === undefined) {
    modes = Object.freeze(ACCESS_ORDER.filter((_, i) => bits & (1 << i)));
    modeLists.set(bits, modes);
  }
  return modes;
}

/**
 * Sorts `items` in place with an insertion sort and returns them: the arrays here are small, and
 * `Array.prototype.sort` allocates working storage on every call.
 */
export function sortSmall<T>(items: T[], order: (a: T, b: T) => number): T[] {
  for (let i = 1; i < items.length; i++) {
    const item = items[i] as T;
    let j = i - 1;
    while (j >= 0 && order(items[j] as T, item) > 0) {
      items[j + 1] = items[j] as T;
      j--;
    }
    items[j + 1] = item;
  }
  return items;
}

/** Ordinal string comparison (locale-independent, deterministic). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const NONE: readonly never[] = Object.freeze([]);

/** The last name in a list of `String` nodes (a qualified name's object name). */
export function lastName(nodes: readonly Node[] | undefined): string {
  const last = nodes?.[nodes.length - 1];
  return last !== undefined && "String" in last ? (last.String.sval ?? "") : "";
}

/** The name before the last in a list of `String` nodes (a qualified name's schema), if any. */
export function qualifier(nodes: readonly Node[] | undefined): string | undefined {
  if (nodes === undefined || nodes.length < 2) return undefined;
  const node = nodes[nodes.length - 2];
  return node !== undefined && "String" in node ? node.String.sval : undefined;
}

/** The names in a list of `String` nodes. */
export function stringList(nodes: readonly Node[] | undefined): string[] {
  const names: string[] = [];
  for (const node of nodes ?? []) {
    if ("String" in node) names.push(node.String.sval ?? "");
  }
  return names;
}
