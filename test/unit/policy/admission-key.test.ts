// The admission key: every subject one policy principal entry matches shares its window, estimates' turns and rate limit.

import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { RateLimitedError } from "#shared/errors.ts";
import { RateLimiter } from "#shared/http/rate-limiter.ts";
import { type Principal, principalKey } from "#shared/identity/principal.ts";
import { admissionKey, admissionKeyOf } from "#shared/policy/admission-key.ts";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import { decideRequest } from "#shared/query/decide-request.ts";
import { createStatementAnalyzer } from "#shared/sql/statement-analyzer.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

const GITHUB = "https://token.actions.githubusercontent.com";
const CONTEXT = { devIssuer: "http://127.0.0.1:8787/dev-idp" };

function caller(subject: string, repositoryId: string): Principal {
  return {
    issuer: GITHUB,
    subject,
    key: principalKey(GITHUB, subject),
    audience: ["phigate"],
    groups: [],
    claims: { repository_id: repositoryId },
    expiresAt: 0,
  };
}

const main = caller("repo:acme/ehr-reports:ref:refs/heads/main", "4242");
const branch = caller("repo:acme/ehr-reports:ref:refs/heads/slice-2", "4242");
const stranger = caller("repo:other/thing:ref:refs/heads/main", "9999");

let policy: LoadedPolicy;

beforeAll(async () => {
  const demo = await readFile("policy/demo.yaml", "utf8");
  const text = demo.replace(
    'sub: "repo:acme/ehr-reports:ref:refs/heads/main"',
    'repository_id: "4242"\n    limits:\n      requestsPerMinute: 1\n      burst: 1',
  );
  if (text === demo) throw new Error("the demo policy's nightly entry moved");
  policy = parsePolicy(
    text.replace(/\n {4}limits:\n {6}maxRows: 10000\n {6}statementTimeoutMs: 10000/, ""),
    "test",
  );
});

describe("admission key", () => {
  it("is the matched entry's for every subject it matches, and the principal key for a caller none matches", () => {
    expect(admissionKey(policy, main, CONTEXT)).toBe("policy-principal:nightly-report");
    expect(admissionKey(policy, branch, CONTEXT)).toBe(admissionKey(policy, main, CONTEXT));
    expect(admissionKey(policy, stranger, CONTEXT)).toBe(stranger.key);
    expect(admissionKeyOf("nightly-report", main.key)).toBe(admissionKey(policy, main, CONTEXT));
    expect(admissionKeyOf(null, stranger.key)).toBe(stranger.key);
  });

  it("gives the subjects of one entry one rate-limit bucket", () => {
    const limiter = new RateLimiter(
      () => policy,
      CONTEXT,
      () => 0,
    );
    limiter.take(main);
    expect(() => limiter.take(branch)).toThrow(RateLimitedError);
  });

  it("asks the planner and the ledger by the entry, so estimates take the entry's turns and caps", async () => {
    const analyzer = await createStatementAnalyzer({ loadCatalog: async () => ddlCatalog(EHR_SCHEMA_SQL) });
    const callers = new Set<string | undefined>();
    const ledgerKeys = new Set<string>();
    const deps = {
      analyzer,
      policy: { current: () => policy, context: CONTEXT },
      clock: { now: () => new Date(0) },
      executor: {
        estimateRows: async (_statement: unknown, _t: number, who?: string) => {
          callers.add(who);
          return 50;
        },
      },
      reads: {
        add: async () => undefined,
        rowsSince: async (who: string) => {
          ledgerKeys.add(who);
          return 0;
        },
      },
    } as unknown as Parameters<typeof decideRequest>[0];
    for (const who of [main, branch]) {
      const decided = await decideRequest(deps, who, {
        sql: "SELECT id, ssn FROM patients WHERE id < 50",
        params: [],
        purpose: "report",
        dryRun: false,
      } as unknown as Parameters<typeof decideRequest>[2]);
      expect(decided.decision.outcome).toBe("allow");
    }
    expect([...callers]).toEqual(["policy-principal:nightly-report"]);
    expect([...ledgerKeys]).toEqual(["policy-principal:nightly-report"]);
  });
});
