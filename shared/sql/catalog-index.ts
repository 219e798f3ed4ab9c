// Name resolution over a catalog snapshot: relations along the search path (pg_catalog first), columns, user routines.
import type { SourceColumn, SourceRelation } from "./lineage.ts";
import type { Catalog, CatalogRelation, CatalogRoutine, RelationAccess } from "./types.ts";

/** Schemas whose routines are PostgreSQL's own. */
export const SYSTEM_SCHEMAS: ReadonlySet<string> = new Set(["pg_catalog", "information_schema"]);

/** A catalog relation with interned source objects for its columns. */
export interface IndexedRelation {
  readonly source: SourceRelation;
  readonly kind: RelationAccess["kind"];
  readonly columns: readonly SourceColumn[];
  readonly columnsByName: ReadonlyMap<string, SourceColumn>;
  readonly definition: string | undefined;
  readonly catalogRelation: CatalogRelation | undefined;
}

/** A new source relation (interned by its owner). */
function makeRelation(schema: string, table: string): SourceRelation {
  return { schema, table, key: `${schema}.${table}` };
}

/** A new source column (interned by its owner). */
export function makeColumn(relation: SourceRelation, column: string, unique = false): SourceColumn {
  const self: { -readonly [K in keyof SourceColumn]: SourceColumn[K] } = {
    schema: relation.schema,
    table: relation.table,
    column,
    relation,
    key: `${relation.key}.${column}`,
    lineage: undefined as unknown as SourceColumn["lineage"],
    unique,
  };
  self.lineage = Object.freeze({ sources: [self], wholeRows: [], transforms: 0, copy: true, opaque: false });
  return self;
}

function indexRelation(relation: CatalogRelation): IndexedRelation {
  const source = makeRelation(relation.schema, relation.table);
  const columns = relation.columns.map((column) => makeColumn(source, column.name, column.unique === true));
  const columnsByName = new Map<string, SourceColumn>();
  for (const column of columns) columnsByName.set(column.column, column);
  return {
    source,
    kind: relation.kind,
    columns,
    columnsByName,
    definition: relation.definition,
    catalogRelation: relation,
  };
}

/** Resolves names against one catalog snapshot. Build with {@link catalogIndex} (cached per catalog). */
export class CatalogIndex {
  /** The search path PostgreSQL effectively uses: `pg_catalog` first unless the path places it. */
  readonly effectiveSearchPath: readonly string[];
  private readonly relations = new Map<string, Map<string, IndexedRelation>>();
  private readonly routines = new Map<string, CatalogRoutine[]>();
  private readonly builtins = new Map<string, CatalogRoutine>();

  constructor(readonly catalog: Catalog) {
    this.effectiveSearchPath = catalog.searchPath.includes("pg_catalog")
      ? [...catalog.searchPath]
      : ["pg_catalog", ...catalog.searchPath];
    for (const relation of catalog.relations) {
      let bySchema = this.relations.get(relation.table);
      if (bySchema === undefined) {
        bySchema = new Map();
        this.relations.set(relation.table, bySchema);
      }
      bySchema.set(relation.schema, indexRelation(relation));
    }
    for (const routine of catalog.routines ?? []) {
      if (SYSTEM_SCHEMAS.has(routine.schema)) continue;
      const list = this.routines.get(routine.name) ?? [];
      list.push(routine);
      this.routines.set(routine.name, list);
    }
    for (const builtin of catalog.builtins ?? [])
      this.builtins.set(`${builtin.schema}.${builtin.name}`, builtin);
  }

  /**
   * The volatility of the built-in `name` (`schema` one of the system schemas, or unqualified: `pg_catalog`,
   * where unqualified built-ins resolve); undefined when the catalog lists none of that name.
   */
  builtinVolatility(schema: string | undefined, name: string): CatalogRoutine["volatility"] | undefined {
    return this.builtins.get(`${schema ?? "pg_catalog"}.${name}`)?.volatility;
  }

  /** Whether the catalog marks some overload of the built-in `name` as returning a set (`proretset`). */
  builtinReturnsSet(schema: string | undefined, name: string): boolean {
    return this.builtins.get(`${schema ?? "pg_catalog"}.${name}`)?.returnsSet === true;
  }

  /** The schema an unqualified name that resolves nowhere is reported in (where CREATE would put it). */
  get defaultSchema(): string {
    return this.catalog.searchPath.find((schema) => schema !== "pg_catalog") ?? "public";
  }

  /** The relation `schema.name`, or `name` along the search path; undefined when there is none. */
  relation(schema: string | undefined, name: string): IndexedRelation | undefined {
    const bySchema = this.relations.get(name);
    if (bySchema === undefined) return undefined;
    if (schema !== undefined) return bySchema.get(schema);
    for (const candidate of this.effectiveSearchPath) {
      const found = bySchema.get(candidate);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * The user-defined routines (or operators, with `kind` `operator`) a call to `name` may reach: in `schema`
   * when qualified, else in any schema of the search path (overloads make the exact one unknowable here).
   */
  userRoutines(schema: string | undefined, name: string, operator: boolean): readonly CatalogRoutine[] {
    const list = this.routines.get(name);
    if (list === undefined) return NONE;
    const found: CatalogRoutine[] = [];
    for (const routine of list) {
      if (routine.kinds.includes("operator") !== operator) continue;
      const visible =
        schema === undefined ? this.effectiveSearchPath.includes(routine.schema) : routine.schema === schema;
      if (visible) found.push(routine);
    }
    return found;
  }
}

const NONE: readonly CatalogRoutine[] = Object.freeze([]);

const indexes = new WeakMap<Catalog, CatalogIndex>();

/** The index of `catalog`, built once per catalog object. */
export function catalogIndex(catalog: Catalog): CatalogIndex {
  let index = indexes.get(catalog);
  if (index === undefined) {
    index = new CatalogIndex(catalog);
    indexes.set(catalog, index);
  }
  return index;
}

/** A relation the catalog does not know: kind `unknown`, no columns. The caller interns it. */
export function unknownRelation(schema: string, name: string): IndexedRelation {
  return {
    source: makeRelation(schema, name),
    kind: "unknown",
    columns: [],
    columnsByName: new Map(),
    definition: undefined,
    catalogRelation: undefined,
  };
}
