// Dispatches a top-level statement by type: its kind, what it touches, its outputs and statement-specific facts.
import type { CopyStmt, ExplainStmt, Node, SelectStmt } from "@pgsql/types";
import { expr } from "./expressions.ts";
import { CLAUSE_BITS, CONSTANT } from "./lineage.ts";
import { Scope } from "./scope.ts";
import { analyzeQueryNode, type QueryOutput } from "./select.ts";
import type { Classification, StatementKind } from "./types.ts";
import { walkUtility } from "./utility-walk.ts";
import { ACCESS, type Analysis, EFFECT, stringList } from "./walk-state.ts";

/** What the dispatcher learns beyond the shared accumulators. */
export interface StatementResult {
  readonly kind: StatementKind;
  readonly outputs: QueryOutput[];
  readonly limit: number | null;
  readonly inner?: Classification["inner"];
  readonly explainAnalyze?: boolean;
  readonly copy?: Classification["copy"];
}

const FIXED_KINDS: Record<string, StatementKind> = {
  TransactionStmt: "transaction",
  ConstraintsSetStmt: "transaction",
  VariableShowStmt: "session",
  DiscardStmt: "session",
  DeallocateStmt: "session",
  LockStmt: "lock",
  DoStmt: "call",
  TruncateStmt: "write",
  RefreshMatViewStmt: "write",
  ListenStmt: "utility",
  UnlistenStmt: "utility",
  NotifyStmt: "utility",
  LoadStmt: "utility",
  CheckPointStmt: "utility",
  VacuumStmt: "utility",
  ClusterStmt: "utility",
  ReindexStmt: "utility",
  AlterSystemStmt: "utility",
  FetchStmt: "utility",
  ClosePortalStmt: "utility",
  ExecuteStmt: "unknown",
  IndexStmt: "ddl",
  ViewStmt: "ddl",
  RuleStmt: "ddl",
  GrantStmt: "ddl",
  GrantRoleStmt: "ddl",
  CommentStmt: "ddl",
  SecLabelStmt: "ddl",
  RenameStmt: "ddl",
  DefineStmt: "ddl",
  CompositeTypeStmt: "ddl",
  ImportForeignSchemaStmt: "ddl",
  ReassignOwnedStmt: "ddl",
  CreateTableAsStmt: "ddl",
};

const DDL_PREFIXES = ["Create", "Alter", "Drop"];

const RELATION_OBJECTS = new Set([
  "OBJECT_TABLE",
  "OBJECT_VIEW",
  "OBJECT_MATVIEW",
  "OBJECT_SEQUENCE",
  "OBJECT_FOREIGN_TABLE",
]);

/** The statement's kind from the effects found while walking a query: a SELECT is `read` only without any. */
function queryKind(an: Analysis): StatementKind {
  if (an.effects & EFFECT.write) return "write";
  if (an.effects & EFFECT.lock) return "lock";
  if (an.effects & EFFECT.call) return "call";
  if (an.effects & EFFECT.session) return "session";
  return "read";
}

function constantLimit(stmt: SelectStmt): number | null {
  const count = stmt.limitCount;
  if (count === undefined || !("A_Const" in count) || count.A_Const.isnull === true) return null;
  if (count.A_Const.ival !== undefined) return count.A_Const.ival.ival ?? 0;
  return null;
}

function tagOf(node: Node): string {
  for (const tag in node) return tag;
  return "";
}

function nested(node: Node | undefined, an: Analysis, clause: number): Classification["inner"] {
  if (node === undefined) return undefined;
  const result = analyzeStatementNode(node, an, clause);
  return { kind: result.kind, statementType: tagOf(node) };
}

function explain(stmt: ExplainStmt, an: Analysis): StatementResult {
  let analyze = false;
  for (const option of stmt.options ?? []) {
    if (!("DefElem" in option) || option.DefElem.defname !== "analyze") continue;
    const arg = option.DefElem.arg;
    const text = arg !== undefined && "String" in arg ? arg.String.sval : undefined;
    const off =
      (arg !== undefined && "Boolean" in arg && arg.Boolean.boolval !== true) ||
      text === "false" ||
      text === "off" ||
      text === "0";
    analyze = !off;
  }
  const inner = nested(stmt.query, an, CLAUSE_BITS.other);
  const innerKind = inner?.kind ?? "unknown";
  const kind: StatementKind = analyze && innerKind !== "read" ? innerKind : "explain";
  if (analyze) an.reasons.add("explain_analyze");
  const outputs = [{ name: "QUERY PLAN", lineage: CONSTANT }];
  return { kind, outputs, limit: null, ...(inner ? { inner } : {}), explainAnalyze: analyze };
}

function copy(stmt: CopyStmt, an: Analysis): StatementResult {
  const direction = stmt.is_from === true ? "from" : "to";
  const target = stmt.is_program === true ? "program" : stmt.filename !== undefined ? "file" : "stdio";
  an.reasons.add(`copy_${direction}_${target}`);
  let outputs: QueryOutput[] = [];
  let inner: Classification["inner"];
  if (stmt.query !== undefined) {
    outputs = direction === "to" ? analyzeQueryNode(stmt.query, undefined, an, CLAUSE_BITS.output) : [];
    inner = { kind: queryKind(an), statementType: tagOf(stmt.query) };
  } else if (stmt.relation !== undefined) {
    const relation = an.resolveRelation(stmt.relation.schemaname, stmt.relation.relname ?? "");
    an.touchRelation(relation, direction === "from" ? ACCESS.write : ACCESS.read);
    const wanted = stringList(stmt.attlist);
    const columns =
      wanted.length === 0 ? relation.columns : wanted.map((name) => an.columnOf(relation, name));
    if (direction === "to") {
      for (const column of columns) an.record(column.lineage, CLAUSE_BITS.output);
      outputs = columns.map((c) => ({ name: c.column, lineage: c.lineage }));
    }
    if (stmt.whereClause !== undefined) {
      const scope = new Scope(undefined, undefined);
      const cols = relation.columns.map((c) => ({ name: c.column, lineage: c.lineage, used: true }));
      scope.entries.push({ items: [], columns: cols, open: undefined });
      expr(stmt.whereClause, { an, scope, clause: CLAUSE_BITS.predicate });
    }
  }
  if (direction === "from") an.effect(EFFECT.write, "copy_from");
  const location = target === "stdio" ? {} : { location: stmt.filename ?? "" };
  return {
    kind: "copy",
    outputs,
    limit: null,
    ...(inner ? { inner } : {}),
    copy: { direction, target, ...location },
  };
}

function touchNamed(names: readonly string[], an: Analysis): void {
  const name = names[names.length - 1];
  if (name === undefined) return;
  const schema = names.length > 1 ? names[names.length - 2] : undefined;
  an.touchRelation(an.resolveRelation(schema, name), ACCESS.ddl);
}

/** DROP and COMMENT name relations by lists of strings rather than range variables. */
function namedObjects(node: Node, an: Analysis): void {
  if ("DropStmt" in node && RELATION_OBJECTS.has(node.DropStmt.removeType ?? "")) {
    for (const object of node.DropStmt.objects ?? [])
      if ("List" in object) touchNamed(stringList(object.List.items), an);
  }
  if ("CommentStmt" in node) {
    const object = node.CommentStmt.object;
    const names = object !== undefined && "List" in object ? stringList(object.List.items) : [];
    if (RELATION_OBJECTS.has(node.CommentStmt.objtype ?? "")) touchNamed(names, an);
    if (node.CommentStmt.objtype === "OBJECT_COLUMN") touchNamed(names.slice(0, -1), an);
  }
}

/** Analyzes any statement node; nested statements (EXPLAIN's, PREPARE's) come through here too. */
export function analyzeStatementNode(node: Node, an: Analysis, clause = CLAUSE_BITS.output): StatementResult {
  const tag = tagOf(node);
  const body = (node as Record<string, unknown>)[tag];
  switch (tag) {
    case "SelectStmt": {
      const outputs = analyzeQueryNode(node, undefined, an, clause);
      return { kind: queryKind(an), outputs, limit: constantLimit(body as SelectStmt) };
    }
    case "InsertStmt":
    case "UpdateStmt":
    case "DeleteStmt":
    case "MergeStmt":
      return { kind: "write", outputs: analyzeQueryNode(node, undefined, an, clause), limit: null };
    case "ExplainStmt":
      return explain(body as ExplainStmt, an);
    case "CopyStmt":
      return copy(body as CopyStmt, an);
    case "PrepareStmt": {
      const inner = nested((body as { query?: Node }).query, an, CLAUSE_BITS.other);
      return { kind: "session", outputs: [], limit: null, ...(inner ? { inner } : {}) };
    }
    case "DeclareCursorStmt": {
      const inner = nested((body as { query?: Node }).query, an, CLAUSE_BITS.other);
      an.outputsComplete = false;
      return { kind: "utility", outputs: [], limit: null, ...(inner ? { inner } : {}) };
    }
    case "CallStmt": {
      an.outputsComplete = false;
      const call = (body as { funccall?: Node }).funccall;
      expr(call === undefined ? undefined : ({ FuncCall: call } as Node), {
        an,
        scope: new Scope(undefined, undefined),
        clause: CLAUSE_BITS.other,
      });
      return { kind: "call", outputs: [], limit: null };
    }
    case "VariableSetStmt": {
      const set = body as { name?: string; kind?: string };
      const name = (set.name ?? (set.kind === "VAR_RESET_ALL" ? "all" : "")).toLowerCase();
      an.reasons.add(`set:${name}`);
      return { kind: name === "transaction" ? "transaction" : "session", outputs: [], limit: null };
    }
    case "VariableShowStmt": {
      const name = (body as { name?: string }).name ?? "";
      const names = name === "all" ? ["name", "setting", "description"] : [name];
      return { kind: "session", outputs: names.map((n) => ({ name: n, lineage: CONSTANT })), limit: null };
    }
    default: {
      const kind =
        FIXED_KINDS[tag] ?? (DDL_PREFIXES.some((prefix) => tag.startsWith(prefix)) ? "ddl" : "unknown");
      if (kind === "unknown" || tag === "ExecuteStmt" || tag === "FetchStmt") an.outputsComplete = false;
      if (tag === "DoStmt") an.reasons.add("do_block");
      if (tag === "ExecuteStmt") an.reasons.add("execute_prepared");
      if (kind === "write")
        an.effect(EFFECT.write, tag === "TruncateStmt" ? "truncate" : "refresh_materialized_view");
      namedObjects(node, an);
      const mode =
        kind === "ddl"
          ? ACCESS.ddl
          : kind === "write"
            ? ACCESS.write
            : kind === "lock"
              ? ACCESS.lock
              : ACCESS.other;
      walkUtility(body, an, mode);
      return { kind, outputs: [], limit: null };
    }
  }
}
