// IAM offline: each call a stand-in serves is checked against the caller's policies from the synthesized template.
// Pinned to the IAM policy evaluation logic ("Policy evaluation logic", "Determining whether a request is allowed or
// denied within an account"): an explicit Deny wins; an identity or resource policy Allow grants; a KMS key policy must
// allow the caller itself or delegate to the account (root), and then the identity policy must allow.

import type { ResolvedStack } from "./template.ts";

/** One policy statement as CloudFormation holds it. */
export interface IamStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** The request as IAM sees it. */
export interface IamRequest {
  /** The calling role's ARN. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  /** Condition keys of the request (`dynamodb:LeadingKeys`, `aws:SecureTransport`, …). */
  readonly context?: Readonly<Record<string, string | readonly string[] | boolean>>;
}

/** One authorization decision, kept for the run's report. */
export interface IamDecision extends IamRequest {
  readonly allowed: boolean;
  readonly reason: string;
}

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function wildcard(pattern: string, text: string, caseInsensitive: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, caseInsensitive ? "is" : "s").test(text);
}

function actionMatches(statement: IamStatement, action: string): boolean {
  if (statement.NotAction !== undefined)
    return !list(statement.NotAction).some((a) => wildcard(a, action, true));
  return list(statement.Action).some((a) => wildcard(a, action, true));
}

function resourceMatches(statement: IamStatement, resource: string): boolean {
  return list(statement.Resource ?? "*").some((r) => wildcard(r, resource, false));
}

function values(v: unknown): string[] {
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** Evaluates one condition operator against the request's keys (missing keys fail, except IfExists/ForAllValues). */
function conditionHolds(
  operator: string,
  key: string,
  expected: unknown,
  context: IamRequest["context"],
): boolean {
  const raw = context?.[key];
  const [qualifier, baseOp] = operator.includes(":") ? operator.split(":") : [undefined, operator];
  let op = baseOp ?? operator;
  const ifExists = op.endsWith("IfExists");
  if (ifExists) op = op.slice(0, -"IfExists".length);
  if (op === "Null") return (raw === undefined) === (String(expected) === "true");
  if (raw === undefined) return ifExists || qualifier === "ForAllValues";
  const actual = Array.isArray(raw) ? raw.map(String) : [String(raw)];
  const wanted = values(expected);
  const test = (a: string, w: string): boolean => {
    switch (op) {
      case "StringEquals":
      case "ArnEquals":
      case "Bool":
        return a === w;
      case "StringEqualsIgnoreCase":
        return a.toLowerCase() === w.toLowerCase();
      case "StringNotEquals":
      case "ArnNotEquals":
        return a !== w;
      case "StringLike":
      case "ArnLike":
        return wildcard(w, a, false);
      case "StringNotLike":
      case "ArnNotLike":
        return !wildcard(w, a, false);
      case "NumericLessThan":
        return Number(a) < Number(w);
      case "NumericLessThanEquals":
        return Number(a) <= Number(w);
      case "NumericGreaterThan":
        return Number(a) > Number(w);
      case "NumericGreaterThanEquals":
        return Number(a) >= Number(w);
      default:
        throw new Error(`IAM stand-in: condition operator ${operator} is not implemented`);
    }
  };
  const negated = /Not/.test(op);
  const one = (a: string) => (negated ? wanted.every((w) => test(a, w)) : wanted.some((w) => test(a, w)));
  if (qualifier === "ForAllValues") return actual.every(one);
  if (qualifier === "ForAnyValue") return actual.some(one);
  return actual.every(one);
}

function conditionsHold(statement: IamStatement, context: IamRequest["context"]): boolean {
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      if (!conditionHolds(operator, key, expected, context)) return false;
    }
  }
  return true;
}

function principalMatches(principal: unknown, arn: string, account: string): "self" | "account" | false {
  if (principal === "*") return "self";
  const aws = (principal as { AWS?: unknown } | undefined)?.AWS;
  if (aws === undefined) return false;
  for (const p of values(aws)) {
    if (p === "*" || p === arn) return "self";
    if (p === `arn:aws:iam::${account}:root` || p === account) return "account";
  }
  return false;
}

type Effect = "allow" | "deny" | "none";

function evaluate(statements: readonly IamStatement[], request: IamRequest): Effect {
  let effect: Effect = "none";
  for (const s of statements) {
    if (!actionMatches(s, request.action) || !resourceMatches(s, request.resource)) continue;
    if (!conditionsHold(s, request.context)) continue;
    if (s.Effect === "Deny") return "deny";
    effect = "allow";
  }
  return effect;
}

/**
 * The template's IAM: identity policies per role (managed, inline and attached policies), and the resource policies of
 * buckets, keys and topics. `authorize` decides and records every call; `violations` lists the refused ones.
 */
export class OfflineIam {
  readonly decisions: IamDecision[] = [];
  private readonly identity = new Map<string, IamStatement[]>();
  private readonly resourcePolicies = new Map<string, IamStatement[]>();

  constructor(private readonly stack: ResolvedStack) {
    const roleArn = (name: string) => `arn:aws:iam::${stack.target.account}:role/${name}`;
    const add = (role: string, statements: unknown) => {
      const arn = roleArn(role);
      this.identity.set(arn, [...(this.identity.get(arn) ?? []), ...((statements ?? []) as IamStatement[])]);
    };
    for (const role of stack.ofType("AWS::IAM::Role")) {
      const name = stack.ref(role.logicalId);
      this.identity.set(roleArn(name), this.identity.get(roleArn(name)) ?? []);
      for (const policy of (role.properties.Policies ?? []) as { PolicyDocument: { Statement: unknown } }[])
        add(name, policy.PolicyDocument.Statement);
    }
    for (const type of ["AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"]) {
      for (const policy of stack.ofType(type)) {
        const doc = policy.properties.PolicyDocument as { Statement: unknown };
        for (const role of (policy.properties.Roles ?? []) as string[]) add(role, doc.Statement);
      }
    }
    for (const policy of stack.ofType("AWS::S3::BucketPolicy")) {
      const bucket = String(policy.properties.Bucket);
      const doc = policy.properties.PolicyDocument as { Statement: IamStatement[] };
      this.resourcePolicies.set(`arn:aws:s3:::${bucket}`, doc.Statement);
    }
    for (const key of stack.ofType("AWS::KMS::Key")) {
      const doc = key.properties.KeyPolicy as { Statement: IamStatement[] } | undefined;
      this.resourcePolicies.set(stack.getAtt(key.logicalId, "Arn"), doc?.Statement ?? []);
    }
    for (const policy of stack.ofType("AWS::SNS::TopicPolicy")) {
      const doc = policy.properties.PolicyDocument as { Statement: IamStatement[] };
      for (const topic of policy.properties.Topics as string[])
        this.resourcePolicies.set(topic, doc.Statement);
    }
  }

  /** Gives a principal identity statements (tests model a principal the template does not hold). */
  addIdentity(arn: string, statements: readonly IamStatement[]): void {
    this.identity.set(arn, [...(this.identity.get(arn) ?? []), ...statements]);
  }

  /** The identity statements of a role (for tests that read what a function may do). */
  statementsOf(roleArn: string): readonly IamStatement[] {
    return this.identity.get(roleArn) ?? [];
  }

  /** Decides a request and records it; the caller answers AccessDenied when it is refused. */
  authorize(request: IamRequest): IamDecision {
    const decision = { ...request, ...this.decide(request) };
    this.decisions.push(decision);
    return decision;
  }

  /** Decides a request without recording it. */
  check(request: IamRequest): { allowed: boolean; reason: string } {
    return this.decide(request);
  }

  /** Every refused call of the run. */
  get violations(): IamDecision[] {
    return this.decisions.filter((d) => !d.allowed);
  }

  private decide(request: IamRequest): { allowed: boolean; reason: string } {
    const identity = this.identity.get(request.principal);
    if (identity === undefined) return { allowed: false, reason: "unknown principal" };
    const ownerArn = this.ownerOf(request.resource);
    const resourceStatements = (
      ownerArn === undefined ? [] : (this.resourcePolicies.get(ownerArn) ?? [])
    ).filter((s) => principalMatches(s.Principal, request.principal, this.stack.target.account) !== false);
    const byIdentity = evaluate(identity, request);
    const byResource = evaluate(resourceStatements, request);
    if (byIdentity === "deny" || byResource === "deny") return { allowed: false, reason: "explicit deny" };
    if (ownerArn?.startsWith("arn:aws:kms:") === true) {
      const direct = evaluate(
        resourceStatements.filter((s) => principalMatches(s.Principal, request.principal, "") === "self"),
        request,
      );
      if (direct === "allow") return { allowed: true, reason: "key policy names the caller" };
      const delegated = evaluate(
        resourceStatements.filter(
          (s) => principalMatches(s.Principal, request.principal, this.stack.target.account) === "account",
        ),
        request,
      );
      if (delegated !== "allow")
        return { allowed: false, reason: "the key policy does not allow the caller" };
      return byIdentity === "allow"
        ? { allowed: true, reason: "key policy delegates to IAM; identity policy allows" }
        : { allowed: false, reason: "no identity policy allows the action on the key" };
    }
    if (byIdentity === "allow" || byResource === "allow") return { allowed: true, reason: "allowed" };
    return { allowed: false, reason: "no policy allows the action on the resource" };
  }

  /** The ARN whose resource policy governs a resource (a bucket for its objects, a key, a topic). */
  private ownerOf(resource: string): string | undefined {
    if (resource.startsWith("arn:aws:s3:::")) return `arn:aws:s3:::${resource.slice(13).split("/")[0]}`;
    if (resource.startsWith("arn:aws:kms:") || resource.startsWith("arn:aws:sns:")) return resource;
    return undefined;
  }
}
