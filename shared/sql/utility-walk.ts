// Walks utility and DDL statements generically: relations they name, functions they call, queries they embed.
import type { Node } from "@pgsql/types";
import { CLAUSE_BITS } from "./lineage.ts";
import { analyzeQueryNode } from "./select.ts";
import { type Analysis, lastName, qualifier } from "./walk-state.ts";

const QUERIES = new Set(["SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

function isRangeVar(value: Record<string, unknown>): boolean {
  return typeof value.relname === "string" && typeof value.relpersistence === "string";
}

/**
 * Visits every node under `body`: a range variable (wrapped or, as in `CreateStmt.relation`, not) is a
 * relation used in `mode` (an ACCESS bit), a function call is recorded, an embedded query (a view's, a rule's
 * action, CREATE TABLE AS) is analyzed as a query read in `other`.
 */
export function walkUtility(body: unknown, an: Analysis, mode: number): void {
  if (Array.isArray(body)) {
    for (const item of body) walkUtility(item, an, mode);
    return;
  }
  if (body === null || typeof body !== "object") return;
  const object = body as Record<string, unknown>;
  if (isRangeVar(object)) {
    an.touchRelation(
      an.resolveRelation(object.schemaname as string | undefined, object.relname as string),
      mode,
    );
    return;
  }
  for (const key in object) {
    const child = object[key];
    if (child === null || typeof child !== "object") continue;
    if (key === "FuncCall" || key === "funccall") {
      const funcname = (child as { funcname?: Node[] }).funcname;
      an.addFunction(qualifier(funcname), lastName(funcname));
    }
    if (QUERIES.has(key)) {
      analyzeQueryNode({ [key]: child } as unknown as Node, undefined, an, CLAUSE_BITS.other);
      continue;
    }
    walkUtility(child, an, mode);
  }
}
