// The top-level conjuncts of a condition: what a predicate's AND tree holds for every row it keeps.
import type { Node } from "@pgsql/types";

/** The conjuncts of an AND tree (the node itself when it is not an AND), appended to `out`. */
export function conjuncts(node: Node | undefined, out: Node[] = []): Node[] {
  if (node === undefined) return out;
  if ("BoolExpr" in node && node.BoolExpr.boolop === "AND_EXPR") {
    for (const arg of node.BoolExpr.args ?? []) conjuncts(arg, out);
  } else out.push(node);
  return out;
}
