// DynamoDB expressions: condition, update and key-condition grammar, evaluated over AttributeValue items.
// Pinned to the DynamoDB developer guide, "Condition and filter expressions, operators, and functions" and "Update
// expressions": comparators, BETWEEN, IN, AND/OR/NOT, attribute_exists/not_exists/type, begins_with, contains, size,
// SET (+, -, if_not_exists, list_append), REMOVE, ADD, DELETE; unused or undefined placeholders are ValidationExceptions.

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { ServiceError } from "./service.ts";

export type Item = Record<string, AttributeValue>;

const validation = (message: string): ServiceError => new ServiceError(400, "ValidationException", message);

/** Words DynamoDB reserves (a subset of the documented list: those an item store is likely to use). */
const RESERVED = new Set(
  (
    "ABORT ACTION ADD ALL AND ANY AS ASC AT ATTRIBUTE BETWEEN BY CASE COUNT CREATE DATA DATE DAY DELETE DESC " +
    "DROP EACH ELSE END EXISTS FALSE FOR FROM GROUP HASH HOUR IN INDEX INSERT IS ITEM KEY KEYS LIMIT MINUTE " +
    "MONTH NAME NOT NULL OF ON OR ORDER OWNER PATH RANGE REMOVE SECOND SELECT SET SIZE STATUS TABLE TIME " +
    "TIMESTAMP TO TRUE TTL TYPE UPDATE USER VALUE VALUES WHERE YEAR ZONE"
  ).split(" "),
);

/** The placeholders of one request, with the ones the expressions used. */
export class Placeholders {
  readonly usedNames = new Set<string>();
  readonly usedValues = new Set<string>();

  constructor(
    readonly names: Readonly<Record<string, string>> = {},
    readonly values: Readonly<Record<string, AttributeValue>> = {},
  ) {}

  name(token: string): string {
    if (!token.startsWith("#")) {
      if (RESERVED.has(token.toUpperCase()))
        throw validation(
          `Invalid expression: Attribute name is a reserved keyword; reserved keyword: ${token}`,
        );
      return token;
    }
    const name = this.names[token];
    if (name === undefined)
      throw validation(
        `An expression attribute name used in the document path is not defined; attribute name: ${token}`,
      );
    this.usedNames.add(token);
    return name;
  }

  value(token: string): AttributeValue {
    const value = this.values[token];
    if (value === undefined)
      throw validation(
        `An expression attribute value used in expression is not defined; attribute value: ${token}`,
      );
    this.usedValues.add(token);
    return value;
  }

  /** Every given placeholder must have been used (DynamoDB refuses unused ones). */
  checkAllUsed(): void {
    const unusedNames = Object.keys(this.names).filter((n) => !this.usedNames.has(n));
    if (unusedNames.length > 0)
      throw validation(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(", ")}}`,
      );
    const unusedValues = Object.keys(this.values).filter((v) => !this.usedValues.has(v));
    if (unusedValues.length > 0)
      throw validation(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(", ")}}`,
      );
  }
}

type Token = { kind: "word" | "name" | "value" | "num" | "op"; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re =
    /\s*(?:(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|([A-Za-z_][A-Za-z0-9_]*)|(\d+)|(<>|<=|>=|[=<>(),.[\]+-]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) throw validation(`Invalid expression: Syntax error; token: "${text.slice(at, at + 10)}"`);
    at = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: "name", text: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: "value", text: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: "word", text: m[3] });
    else if (m[4] !== undefined) tokens.push({ kind: "num", text: m[4] });
    else tokens.push({ kind: "op", text: m[5] ?? "" });
  }
  return tokens;
}

/** A document path: attribute names and list indexes. */
type Path = (string | number)[];

type Operand =
  | { kind: "path"; path: Path }
  | { kind: "value"; value: AttributeValue }
  | { kind: "size"; path: Path }
  | { kind: "if_not_exists"; path: Path; fallback: Operand }
  | { kind: "list_append"; a: Operand; b: Operand }
  | { kind: "arith"; op: "+" | "-"; a: Operand; b: Operand };

type Condition =
  | { kind: "and" | "or"; a: Condition; b: Condition }
  | { kind: "not"; a: Condition }
  | { kind: "cmp"; op: string; a: Operand; b: Operand }
  | { kind: "between"; a: Operand; lo: Operand; hi: Operand }
  | { kind: "in"; a: Operand; list: Operand[] }
  | { kind: "fn"; name: string; path: Path; arg?: Operand };

class Parser {
  private at = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly ph: Placeholders,
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.at + offset];
  }
  done(): boolean {
    return this.at >= this.tokens.length;
  }
  next(): Token {
    const token = this.tokens[this.at++];
    if (token === undefined) throw validation("Invalid expression: unexpected end of expression");
    return token;
  }
  isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === "word" && t.text.toUpperCase() === word;
  }
  expect(text: string): void {
    const t = this.next();
    if (t.text.toUpperCase() !== text)
      throw validation(`Invalid expression: expected ${text}, got ${t.text}`);
  }

  path(): Path {
    const first = this.next();
    if (first.kind !== "name" && first.kind !== "word")
      throw validation(`Invalid expression: expected an attribute, got ${first.text}`);
    const path: Path = [this.ph.name(first.text)];
    for (;;) {
      if (this.peek()?.text === ".") {
        this.next();
        const t = this.next();
        path.push(this.ph.name(t.text));
      } else if (this.peek()?.text === "[") {
        this.next();
        path.push(Number(this.next().text));
        this.expect("]");
      } else return path;
    }
  }

  operand(): Operand {
    const t = this.peek();
    if (t?.kind === "value") {
      this.next();
      return { kind: "value", value: this.ph.value(t.text) };
    }
    if (t?.kind === "word" && this.peek(1)?.text === "(") {
      const fn = t.text;
      this.next();
      this.next();
      let result: Operand;
      if (fn === "size") result = { kind: "size", path: this.path() };
      else if (fn === "if_not_exists") {
        const path = this.path();
        this.expect(",");
        result = { kind: "if_not_exists", path, fallback: this.operand() };
      } else if (fn === "list_append") {
        const a = this.operand();
        this.expect(",");
        result = { kind: "list_append", a, b: this.operand() };
      } else throw validation(`Invalid expression: unknown function ${fn}`);
      this.expect(")");
      return result;
    }
    return { kind: "path", path: this.path() };
  }

  setValue(): Operand {
    const a = this.operand();
    const op = this.peek()?.text;
    if (op === "+" || op === "-") {
      this.next();
      return { kind: "arith", op, a, b: this.operand() };
    }
    return a;
  }

  condition(): Condition {
    let left = this.conjunction();
    while (this.isWord("OR")) {
      this.next();
      left = { kind: "or", a: left, b: this.conjunction() };
    }
    return left;
  }
  conjunction(): Condition {
    let left = this.negation();
    while (this.isWord("AND")) {
      this.next();
      left = { kind: "and", a: left, b: this.negation() };
    }
    return left;
  }
  negation(): Condition {
    if (this.isWord("NOT")) {
      this.next();
      return { kind: "not", a: this.negation() };
    }
    return this.primary();
  }
  primary(): Condition {
    if (this.peek()?.text === "(") {
      this.next();
      const inner = this.condition();
      this.expect(")");
      return inner;
    }
    const t = this.peek();
    const fns = ["attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"];
    if (t?.kind === "word" && fns.includes(t.text) && this.peek(1)?.text === "(") {
      this.next();
      this.next();
      const path = this.path();
      let arg: Operand | undefined;
      if (this.peek()?.text === ",") {
        this.next();
        arg = this.operand();
      }
      this.expect(")");
      return { kind: "fn", name: t.text, path, ...(arg === undefined ? {} : { arg }) };
    }
    const a = this.operand();
    if (this.isWord("BETWEEN")) {
      this.next();
      const lo = this.operand();
      this.expect("AND");
      return { kind: "between", a, lo, hi: this.operand() };
    }
    if (this.isWord("IN")) {
      this.next();
      this.expect("(");
      const list = [this.operand()];
      while (this.peek()?.text === ",") {
        this.next();
        list.push(this.operand());
      }
      this.expect(")");
      return { kind: "in", a, list };
    }
    const op = this.next().text;
    if (!["=", "<>", "<", "<=", ">", ">="].includes(op))
      throw validation(`Invalid expression: expected a comparator, got ${op}`);
    return { kind: "cmp", op, a, b: this.operand() };
  }
}

function get(item: Item, path: Path): AttributeValue | undefined {
  let current: AttributeValue | undefined = { M: item };
  for (const part of path) {
    if (current === undefined) return undefined;
    if (typeof part === "number") current = current.L?.[part];
    else current = current.M?.[part];
  }
  return current;
}

function typeOf(v: AttributeValue): string {
  return Object.keys(v).find((k) => (v as unknown as Record<string, unknown>)[k] !== undefined) ?? "?";
}

/** Whether two attribute values are equal (numbers numerically, sets as sets). */
export function equal(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const ta = typeOf(a);
  if (ta !== typeOf(b)) return false;
  if (ta === "N") return Number(a.N) === Number(b.N);
  if (ta === "SS" || ta === "NS") {
    const x = [...((a as unknown as Record<string, string[]>)[ta] ?? [])].sort();
    const y = [...((b as unknown as Record<string, string[]>)[ta] ?? [])].sort();
    return JSON.stringify(x) === JSON.stringify(y);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

function compare(a: AttributeValue | undefined, b: AttributeValue | undefined): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a.N !== undefined && b.N !== undefined) return Number(a.N) - Number(b.N);
  if (a.S !== undefined && b.S !== undefined) return a.S < b.S ? -1 : a.S > b.S ? 1 : 0;
  return undefined;
}

function evalOperand(item: Item, operand: Operand): AttributeValue | undefined {
  switch (operand.kind) {
    case "path":
      return get(item, operand.path);
    case "value":
      return operand.value;
    case "size": {
      const v = get(item, operand.path);
      if (v === undefined) return undefined;
      const n =
        v.S?.length ??
        v.L?.length ??
        v.SS?.length ??
        v.NS?.length ??
        (v.M === undefined ? undefined : Object.keys(v.M).length);
      return n === undefined ? undefined : { N: String(n) };
    }
    case "if_not_exists":
      return get(item, operand.path) ?? evalOperand(item, operand.fallback);
    case "list_append": {
      const a = evalOperand(item, operand.a);
      const b = evalOperand(item, operand.b);
      if (a?.L === undefined || b?.L === undefined)
        throw validation(
          "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append",
        );
      return { L: [...a.L, ...b.L] };
    }
    case "arith": {
      const a = evalOperand(item, operand.a);
      const b = evalOperand(item, operand.b);
      if (a?.N === undefined || b?.N === undefined)
        throw validation(`An operand in the update expression has an incorrect data type`);
      return { N: String(operand.op === "+" ? Number(a.N) + Number(b.N) : Number(a.N) - Number(b.N)) };
    }
  }
}

function evalCondition(item: Item, c: Condition): boolean {
  switch (c.kind) {
    case "and":
      return evalCondition(item, c.a) && evalCondition(item, c.b);
    case "or":
      return evalCondition(item, c.a) || evalCondition(item, c.b);
    case "not":
      return !evalCondition(item, c.a);
    case "cmp": {
      const a = evalOperand(item, c.a);
      const b = evalOperand(item, c.b);
      if (c.op === "=") return equal(a, b);
      if (c.op === "<>") return a !== undefined && b !== undefined && !equal(a, b);
      const d = compare(a, b);
      if (d === undefined) return false;
      return c.op === "<" ? d < 0 : c.op === "<=" ? d <= 0 : c.op === ">" ? d > 0 : d >= 0;
    }
    case "between": {
      const lo = compare(evalOperand(item, c.a), evalOperand(item, c.lo));
      const hi = compare(evalOperand(item, c.a), evalOperand(item, c.hi));
      return lo !== undefined && hi !== undefined && lo >= 0 && hi <= 0;
    }
    case "in": {
      const a = evalOperand(item, c.a);
      return c.list.some((v) => equal(a, evalOperand(item, v)));
    }
    case "fn": {
      const v = get(item, c.path);
      const arg = c.arg === undefined ? undefined : evalOperand(item, c.arg);
      switch (c.name) {
        case "attribute_exists":
          return v !== undefined;
        case "attribute_not_exists":
          return v === undefined;
        case "attribute_type":
          return v !== undefined && typeOf(v) === arg?.S;
        case "begins_with":
          return v?.S !== undefined && arg?.S !== undefined && v.S.startsWith(arg.S);
        case "contains":
          if (v === undefined || arg === undefined) return false;
          if (v.S !== undefined) return arg.S !== undefined && v.S.includes(arg.S);
          if (v.SS !== undefined) return arg.S !== undefined && v.SS.includes(arg.S);
          if (v.NS !== undefined) return arg.N !== undefined && v.NS.some((n) => Number(n) === Number(arg.N));
          if (v.L !== undefined) return v.L.some((e) => equal(e, arg));
          return false;
        default:
          throw validation(`Invalid expression: unknown function ${c.name}`);
      }
    }
  }
}

/** Parses and evaluates a condition expression on an item (undefined: the item does not exist). */
export function conditionHolds(expression: string, item: Item | undefined, ph: Placeholders): boolean {
  const parser = new Parser(tokenize(expression), ph);
  const condition = parser.condition();
  if (!parser.done())
    throw validation(`Invalid ConditionExpression: Syntax error; token: "${parser.peek()?.text}"`);
  return evalCondition(item ?? {}, condition);
}

function set(item: Item, path: Path, value: AttributeValue | undefined): void {
  let container: AttributeValue = { M: item };
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i] as string | number;
    const next: AttributeValue | undefined =
      typeof part === "number" ? container.L?.[part] : container.M?.[part];
    if (next === undefined)
      throw validation("The document path provided in the update expression is invalid for update");
    container = next;
  }
  const last = path[path.length - 1] as string | number;
  if (typeof last === "number") {
    const list = container.L ?? [];
    if (value === undefined) list.splice(last, 1);
    else list[Math.min(last, list.length)] = value;
  } else if (container.M !== undefined) {
    if (value === undefined) delete container.M[last];
    else container.M[last] = value;
  }
}

/** Applies an update expression to (a copy of) an item and returns the new item. */
export function applyUpdate(expression: string, item: Item, ph: Placeholders): Item {
  const next = structuredClone(item);
  const parser = new Parser(tokenize(expression), ph);
  const seen = new Set<string>();
  while (!parser.done()) {
    const clause = parser.next().text.toUpperCase();
    if (seen.has(clause))
      throw validation(`Invalid UpdateExpression: The "${clause}" section can only be used once`);
    seen.add(clause);
    const more = () => {
      if (parser.peek()?.text === ",") {
        parser.next();
        return true;
      }
      return false;
    };
    do {
      const path = parser.path();
      if (clause === "SET") {
        parser.expect("=");
        set(next, path, evalOperand(item, parser.setValue()));
      } else if (clause === "REMOVE") {
        set(next, path, undefined);
      } else if (clause === "ADD" || clause === "DELETE") {
        const value = evalOperand(item, parser.operand()) as AttributeValue;
        const current = get(next, path);
        if (value.N !== undefined && clause === "ADD") {
          set(next, path, { N: String(Number(current?.N ?? 0) + Number(value.N)) });
        } else if (value.SS !== undefined) {
          const existing = new Set(current?.SS ?? []);
          for (const s of value.SS) {
            if (clause === "ADD") existing.add(s);
            else existing.delete(s);
          }
          set(next, path, existing.size === 0 ? undefined : { SS: [...existing] });
        } else
          throw validation(
            `Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ${clause}`,
          );
      } else throw validation(`Invalid UpdateExpression: Syntax error; token: "${clause}"`);
    } while (more());
  }
  return next;
}

/** A parsed key condition: the partition key's value and an optional sort-key test. */
export interface KeyCondition {
  readonly partition: { name: string; value: AttributeValue };
  readonly sort?: (item: Item) => boolean;
  readonly sortName?: string;
}

/** Parses `pk = :v [AND sk op :w | AND sk BETWEEN :a AND :b | AND begins_with(sk, :p)]`. */
export function keyCondition(
  expression: string,
  partitionKey: string,
  sortKey: string | undefined,
  ph: Placeholders,
): KeyCondition {
  const parser = new Parser(tokenize(expression), ph);
  const condition = parser.condition();
  if (!parser.done()) throw validation("Invalid KeyConditionExpression: Syntax error");
  const parts: Condition[] = [];
  const flatten = (c: Condition) => {
    if (c.kind === "and") {
      flatten(c.a);
      flatten(c.b);
    } else parts.push(c);
  };
  flatten(condition);
  let partition: KeyCondition["partition"] | undefined;
  let sort: Condition | undefined;
  for (const part of parts) {
    const path =
      part.kind === "fn"
        ? part.path
        : part.kind === "cmp" || part.kind === "between"
          ? (part.a as { path?: Path }).path
          : undefined;
    const name = path?.[0];
    if (name === partitionKey && part.kind === "cmp" && part.op === "=" && part.b.kind === "value") {
      partition = { name, value: part.b.value };
    } else if (name === sortKey && sort === undefined) sort = part;
    else throw validation("Query condition missed key schema element or used an unsupported operator");
  }
  if (partition === undefined) throw validation(`Query condition missed key schema element: ${partitionKey}`);
  const sortCondition = sort;
  return {
    partition,
    ...(sortCondition === undefined ? {} : { sort: (item: Item) => evalCondition(item, sortCondition) }),
    ...(sortKey === undefined ? {} : { sortName: sortKey }),
  };
}
