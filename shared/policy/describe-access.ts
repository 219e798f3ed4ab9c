// What a principal may read, described from the policy and the catalog: its tables and columns with their masking.

import type { Principal } from "#shared/identity/principal.ts";
import type { DetectorKind } from "#shared/masking/detector-rules.ts";
import type { LookupPermission } from "#shared/masking/rule-access.ts";
import { type ColumnRule, strategyOf } from "#shared/masking/strategies.ts";
import { matchPrincipal } from "#shared/policy/evaluate.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { maskingPolicyFor } from "#shared/policy/masking-policy.ts";
import type { MatchContext } from "#shared/policy/match.ts";
import type { PrincipalEntry } from "#shared/policy/schema.ts";
import { SYSTEM_SCHEMAS } from "#shared/sql/catalog-index.ts";
import type { Catalog, CatalogRelation } from "#shared/sql/types.ts";

/** How a column's value comes back, and how a statement may use it (docs/masking.md, "Opacity"). */
export type DescribedMasking =
  | {
      /** A column rule: the value is protected (opaque) and masked by this strategy. */
      readonly kind: "rule";
      readonly strategy: ColumnRule["strategy"];
      /** What the strategy keeps, in words (`birth year`, `token with prefix mrn`, ...). */
      readonly keeps: string;
      /** Whether `col = <literal>` lookups are allowed, need an approver, or are refused. */
      readonly lookup: LookupPermission;
      /** Equi-joins are allowed only with protected columns of the same type. */
      readonly joinType: string;
    }
  | {
      /** A free-text column: protected, and the detectors replace what they find in it. */
      readonly kind: "detectors";
      readonly detects: readonly DetectorKind[];
    }
  | {
      /** A column of a view: masked by the lineage of what it derives from (ask for a dry run). */
      readonly kind: "lineage";
    };

/** One readable column. */
export interface DescribedColumn {
  readonly name: string;
  /** The column's type in the database; a masked value comes back as text (or null). */
  readonly type: string;
  /** Null: returned as stored (text still goes through the detectors). */
  readonly masking: DescribedMasking | null;
}

/** One readable relation. */
export interface DescribedTable {
  readonly schema: string;
  readonly name: string;
  readonly kind: CatalogRelation["kind"];
  readonly columns: readonly DescribedColumn[];
}

/** What a principal may read. Nothing it may not read is named. */
export interface AccessDescription {
  /** The policy entry that matched the caller, or null (then nothing is readable). */
  readonly principal: string | null;
  readonly policy: { readonly name: string; readonly digest: string };
  readonly tables: readonly DescribedTable[];
  /** What the detectors look for in every text value no rule masks. */
  readonly detectorKinds: readonly DetectorKind[];
  /** Row cap and statement time limit of this caller's statements. */
  readonly limits: { readonly maxRows: number; readonly statementTimeoutMs: number };
}

const READABLE_KINDS: ReadonlySet<CatalogRelation["kind"]> = new Set([
  "table",
  "view",
  "matview",
  "foreign",
  "partitioned",
]);

function keeps(rule: ColumnRule): string {
  const describe = strategyOf(rule.strategy).keeps as (rule: ColumnRule) => string;
  return describe(rule);
}

function grantedColumns(entry: PrincipalEntry, relation: CatalogRelation): Set<string> | "all" | undefined {
  let columns: Set<string> | undefined;
  for (const grant of entry.grants) {
    const covers = grant.tables.some(
      (t) => t === `${relation.schema}.${relation.table}` || t === `${relation.schema}.*`,
    );
    if (!covers) continue;
    if (grant.columns === "*") return "all";
    columns ??= new Set();
    for (const c of grant.columns) columns.add(c);
  }
  return columns;
}

/**
 * Describes what `principal` may read under `policy`: every granted relation of the catalog (system schemas
 * excluded) with its granted columns, each with the masking the policy (merged with the principal's own rules)
 * applies to it. A caller no entry matches gets an empty list: nothing it may not read is named.
 */
export function describeAccess(
  policy: LoadedPolicy,
  principal: Principal,
  catalog: Catalog,
  context: MatchContext,
): AccessDescription {
  const document = policy.document;
  const entry = matchPrincipal(policy, principal, context);
  const masking = maskingPolicyFor(document, entry);
  const detectorColumns = new Set(masking.detectors.columns);
  const tables: DescribedTable[] = [];
  for (const relation of catalog.relations) {
    if (entry === undefined) break;
    if (SYSTEM_SCHEMAS.has(relation.schema) || !READABLE_KINDS.has(relation.kind)) continue;
    const granted = grantedColumns(entry, relation);
    if (granted === undefined) continue;
    const isView = relation.kind === "view" || relation.kind === "matview";
    const columns = relation.columns
      .filter((c) => granted === "all" || granted.has(c.name))
      .map((c): DescribedColumn => {
        const key = `${relation.schema}.${relation.table}.${c.name}`;
        const rule = masking.rules[key];
        if (rule !== undefined) {
          return {
            name: c.name,
            type: c.type,
            masking: {
              kind: "rule",
              strategy: rule.strategy,
              keeps: keeps(rule),
              lookup: rule.lookup ?? "deny",
              joinType: rule.type ?? key,
            },
          };
        }
        if (detectorColumns.has(key))
          return {
            name: c.name,
            type: c.type,
            masking: { kind: "detectors", detects: masking.detectors.kinds },
          };
        if (isView) return { name: c.name, type: c.type, masking: { kind: "lineage" } };
        return { name: c.name, type: c.type, masking: null };
      });
    if (columns.length > 0)
      tables.push({ schema: relation.schema, name: relation.table, kind: relation.kind, columns });
  }
  tables.sort((a, b) => `${a.schema}.${a.name}`.localeCompare(`${b.schema}.${b.name}`));
  return {
    principal: entry?.id ?? null,
    policy: { name: document.name, digest: policy.digest },
    tables,
    detectorKinds: masking.detectors.kinds,
    limits: {
      maxRows: entry?.limits.maxRows ?? document.defaults.maxRows,
      statementTimeoutMs: entry?.limits.statementTimeoutMs ?? document.defaults.statementTimeoutMs,
    },
  };
}
