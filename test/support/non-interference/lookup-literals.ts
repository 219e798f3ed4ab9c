// The one declassification of the non-interference test: literals (and parameters) in a lookup position, found strictly.

import { loadModule, parseSync, scanSync } from "libpg-query";
import type { LiteralImages } from "./worlds.ts";

/** A literal or parameter sitting in a lookup position, with the column it is compared with. */
export type LookupOperand =
  | { readonly kind: "literal"; readonly value: string; readonly location: number; readonly column: string }
  | { readonly kind: "param"; readonly number: number; readonly column: string };

/** What world B's copy of a statement is, and what was replaced. */
export interface TranslatedStatement {
  readonly sql: string;
  readonly params: readonly unknown[] | undefined;
  /** A values replaced by their images (empty: B's statement is A's). */
  readonly replaced: readonly { readonly from: string; readonly to: string }[];
}

/** Loads libpg-query's WebAssembly parser (once) before {@link lookupOperands} or {@link translateLookups}. */
export function loadLookupParser(): Promise<void> {
  return loadModule();
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function child(node: unknown, type: string): Json | undefined {
  if (!isObject(node)) return undefined;
  const inner = node[type];
  return isObject(inner) ? inner : undefined;
}

/** The column a plain column reference names (its last field), or undefined for anything else (`t.*`, expressions). */
function columnRefName(node: unknown): string | undefined {
  const ref = child(node, "ColumnRef");
  const fields = ref?.fields;
  if (!Array.isArray(fields) || fields.length === 0) return undefined;
  const names = fields.map((f) => child(f, "String")?.sval);
  if (names.some((n) => typeof n !== "string")) return undefined;
  return names.at(-1) as string;
}

/** A literal (string or number constant, or a parameter), possibly under casts. */
function operand(node: unknown, column: string): LookupOperand | undefined {
  let current = node;
  for (let cast = child(current, "TypeCast"); cast !== undefined; cast = child(current, "TypeCast"))
    current = cast.arg;
  const param = child(current, "ParamRef");
  if (param !== undefined && typeof param.number === "number")
    return { kind: "param", number: param.number, column };
  const constant = child(current, "A_Const");
  if (constant === undefined || typeof constant.location !== "number") return undefined;
  const sval = child(constant, "sval")?.sval;
  const ival = child(constant, "ival");
  const fval = child(constant, "fval")?.fval;
  const value =
    typeof sval === "string"
      ? sval
      : typeof fval === "string"
        ? fval
        : ival !== undefined
          ? String(ival.ival ?? 0)
          : undefined;
  return value === undefined ? undefined : { kind: "literal", value, location: constant.location, column };
}

function isEquals(expr: Json): boolean {
  const name = expr.name;
  return Array.isArray(name) && name.length === 1 && child(name[0], "String")?.sval === "=";
}

/** The operands of one conjunct when it has a lookup shape, else none. */
function lookupShape(conjunct: unknown): LookupOperand[] {
  const expr = child(conjunct, "A_Expr");
  if (expr === undefined || !isEquals(expr)) return [];
  const all = (column: string, nodes: unknown[]): LookupOperand[] => {
    const found = nodes.map((n) => operand(n, column));
    return found.every((f) => f !== undefined) ? (found as LookupOperand[]) : [];
  };
  if (expr.kind === "AEXPR_OP") {
    const left = columnRefName(expr.lexpr);
    const right = columnRefName(expr.rexpr);
    if (left !== undefined && right === undefined) return all(left, [expr.rexpr]);
    if (right !== undefined && left === undefined) return all(right, [expr.lexpr]);
    return [];
  }
  const column = columnRefName(expr.lexpr);
  if (column === undefined) return [];
  if (expr.kind === "AEXPR_IN") {
    const items = child(expr.rexpr, "List")?.items;
    return Array.isArray(items) ? all(column, items) : [];
  }
  if (expr.kind === "AEXPR_OP_ANY") {
    const elements = child(expr.rexpr, "A_ArrayExpr")?.elements;
    return Array.isArray(elements) ? all(column, elements) : [];
  }
  return [];
}

function conjuncts(node: unknown): unknown[] {
  const bool = child(node, "BoolExpr");
  if (bool?.boolop === "AND_EXPR" && Array.isArray(bool.args)) return bool.args.flatMap(conjuncts);
  return node === undefined ? [] : [node];
}

function walk(node: unknown, visit: (type: string, body: Json) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (/^[A-Z]/.test(key) && isObject(value)) visit(key, value);
    walk(value, visit);
  }
}

/**
 * Every literal and parameter in a lookup position of `sql`: a top-level AND-conjunct of a `WHERE` (of any query
 * block) or of an INNER JOIN's `ON`, shaped `<column ref> = <literal>` (either side), `<column ref> IN
 * (<literals>)` or `<column ref> = ANY (ARRAY[<literals>])`, a literal possibly cast. Nothing else: not a
 * select-list literal, not `<>`/`LIKE`/`OR`/`NOT`, not a LEFT JOIN's `ON`, not `col::text = '…'`. Unparsable SQL
 * has none.
 */
export function lookupOperands(sql: string): LookupOperand[] {
  let tree: unknown;
  try {
    tree = parseSync(sql);
  } catch {
    return [];
  }
  const found: LookupOperand[] = [];
  // Set-operation branches (`larg`/`rarg`) are query blocks the parse tree does not wrap in a SelectStmt node.
  const block = (body: Json): void => {
    for (const c of conjuncts(body.whereClause)) found.push(...lookupShape(c));
    if (isObject(body.larg)) block(body.larg);
    if (isObject(body.rarg)) block(body.rarg);
  };
  walk(tree, (type, body) => {
    if (type === "SelectStmt") block(body);
    if (type === "JoinExpr" && body.jointype === "JOIN_INNER" && body.quals !== undefined)
      for (const c of conjuncts(body.quals)) found.push(...lookupShape(c));
  });
  return found;
}

function paramCounts(sql: string): Map<number, number> {
  const counts = new Map<number, number>();
  try {
    walk(parseSync(sql), (type, body) => {
      if (type === "ParamRef" && typeof body.number === "number")
        counts.set(body.number, (counts.get(body.number) ?? 0) + 1);
    });
  } catch {
    // unparsable: no parameters to translate
  }
  return counts;
}

function imageOf(literals: LiteralImages, column: string, value: string): string | undefined {
  const own = literals.byColumn.get(column);
  if (own !== undefined) return own.get(value);
  if (literals.unprotectedNames.has(column)) return undefined;
  return literals.any.get(value);
}

function quote(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * World B's copy of a statement: each lookup literal equal to a whole protected value of A (for the column it is
 * compared with, or for any protected column when the name is an alias) is replaced by that value's image, and so
 * is each parameter whose every use is a lookup. Only plain `'…'` literals are rewritten (by their token).
 */
export function translateLookups(
  sql: string,
  params: readonly unknown[] | undefined,
  literals: LiteralImages,
): TranslatedStatement {
  const operands = lookupOperands(sql);
  if (operands.length === 0) return { sql, params, replaced: [] };
  const replaced: { from: string; to: string }[] = [];
  const bytes = Buffer.from(sql, "utf8");
  const edits = new Map<number, { end: number; text: string }>();
  let tokens: { start: number; end: number; text: string }[] | undefined;
  for (const op of operands) {
    if (op.kind !== "literal") continue;
    const image = imageOf(literals, op.column, op.value);
    if (image === undefined) continue;
    tokens ??= scanSync(sql).tokens;
    const token = tokens.find((t) => t.start === op.location);
    if (token === undefined || !token.text.startsWith("'")) continue;
    edits.set(token.start, { end: token.end, text: quote(image) });
    replaced.push({ from: op.value, to: image });
  }
  let newParams = params === undefined ? undefined : [...params];
  const counts = paramCounts(sql);
  for (const op of operands) {
    if (op.kind !== "param" || newParams === undefined) continue;
    const uses = operands.filter((o) => o.kind === "param" && o.number === op.number).length;
    const value = newParams[op.number - 1];
    if (uses !== counts.get(op.number) || typeof value !== "string") continue;
    const image = imageOf(literals, op.column, value);
    if (image === undefined) continue;
    newParams = newParams.map((p, i) => (i === op.number - 1 ? image : p));
    replaced.push({ from: value, to: image });
  }
  const parts: Buffer[] = [];
  let at = 0;
  for (const [start, edit] of [...edits].sort(([x], [y]) => x - y)) {
    parts.push(bytes.subarray(at, start), Buffer.from(edit.text, "utf8"));
    at = edit.end;
  }
  parts.push(bytes.subarray(at));
  return { sql: Buffer.concat(parts).toString("utf8"), params: newParams, replaced };
}
