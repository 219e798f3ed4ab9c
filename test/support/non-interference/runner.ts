// Sends each statement to world A's and world B's gateway as the nightly job, approves what waits, compares the answers.

import { gunzipSync } from "node:zlib";
import type { TestGateway } from "#test/support/gateway.ts";
import { NIGHTLY } from "#test/support/gateway.ts";
import {
  type CanonicalOutcome,
  canonicalOutcome,
  compareOutcomes,
  type Difference,
  type RawOutcome,
} from "./canonical.ts";
import type { TranslatedStatement } from "./lookup-literals.ts";

/** One statement of a run. */
export interface Statement {
  /** Where it comes from (`masking-leak`, `harvested`, `generated`, `reproducer`, ...). */
  readonly source: string;
  readonly category: string;
  readonly sql: string;
  readonly params?: readonly unknown[];
}

/** A world's gateway with the tokens the runner uses. */
export interface WorldGateway {
  readonly name: "A" | "B";
  readonly gateway: TestGateway;
  readonly nightly: string;
  readonly approver: string;
}

/** Starts tokens for a world's gateway: the nightly job and an approver (alice, phi-approvers), valid for an hour. */
export async function worldGateway(name: "A" | "B", gateway: TestGateway): Promise<WorldGateway> {
  return {
    name,
    gateway,
    nightly: await gateway.token(NIGHTLY, { ttlSeconds: 3600 }),
    approver: await gateway.token("alice", { groups: ["phi-approvers"], ttlSeconds: 3600 }),
  };
}

/** The outcome of one statement in both worlds. */
export interface StatementRun {
  readonly statement: Statement;
  /** B's copy of the statement (lookup literals translated). */
  readonly translated: TranslatedStatement;
  readonly a: CanonicalOutcome;
  readonly b: CanonicalOutcome;
  readonly difference: Difference | undefined;
  /**
   * True when the statement is not deterministic: it differed, and a later run in A or B differed from that world's
   * first (or later runs agreed across the worlds)
   * (`now()`, transaction ids). Such a difference says nothing about the worlds; it is reported apart.
   */
  readonly unstable: boolean;
  /** Every status ≥ 500 met in either world. */
  readonly serverErrors: readonly string[];
}

const TERMINAL = new Set(["completed", "failed", "denied", "expired", "rejected"]);

async function download(url: string): Promise<unknown[][]> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`result download answered ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b)
    return (JSON.parse(bytes.toString("utf8")) as { rows: unknown[][] }).rows;
  // gzip NDJSON: a header line (format, session, columns), then one JSON array per row.
  return gunzipSync(bytes)
    .toString("utf8")
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((line) => JSON.parse(line) as unknown[]);
}

/** Sends one statement to one world and follows it to its end: approval, long-poll, downloads. */
export async function runInWorld(
  world: WorldGateway,
  sql: string,
  params: readonly unknown[] | undefined,
): Promise<RawOutcome> {
  const serverErrors: string[] = [];
  const gw = world.gateway;
  let answer: Awaited<ReturnType<TestGateway["query"]>>;
  try {
    answer = await gw.query(world.nightly, { sql, ...(params === undefined ? {} : { params }) });
  } catch (error) {
    return {
      status: 599,
      body: { error: { code: "harness", message: String(error) } },
      serverErrors: ["query: no answer"],
    };
  }
  // The code and the gateway's message (messages carry no PHI and no SQL: they say which failure it was).
  if (answer.status >= 500)
    serverErrors.push(
      `query ${answer.status} ${answer.body?.error?.code ?? ""} (${answer.body?.error?.message ?? ""})`,
    );
  let streamedRows: unknown[][] | undefined;
  if (answer.status === 200 && typeof answer.body?.resultUrl === "string")
    streamedRows = await download(answer.body.resultUrl);
  if (answer.status !== 202) {
    return {
      status: answer.status,
      body: answer.body,
      ...(streamedRows === undefined ? {} : { streamedRows }),
      serverErrors,
    };
  }
  const decision = await gw.request("POST", `/v1/approvals/${answer.body.approval.id}/decision`, {
    token: world.approver,
    body: { decision: "approve", comment: "non-interference run" },
  });
  if (decision.status >= 500) serverErrors.push(`decision ${decision.status}`);
  // biome-ignore lint/suspicious/noExplicitAny: sessions are arbitrary JSON
  let final: any;
  for (let i = 0; i < 6; i++) {
    const session = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}?wait=20`, {
      token: world.nightly,
    });
    if (session.status >= 500) serverErrors.push(`session ${session.status}`);
    final = session.body;
    if (session.status !== 200 || TERMINAL.has(final?.status)) break;
  }
  let finalStreamedRows: unknown[][] | undefined;
  if (typeof final?.result?.resultUrl === "string")
    finalStreamedRows = await download(final.result.resultUrl);
  return {
    status: answer.status,
    body: answer.body,
    final,
    ...(finalStreamedRows === undefined ? {} : { finalStreamedRows }),
    serverErrors,
  };
}

/** Options of {@link runPair}. */
export interface RunOptions {
  /** Statements in flight at once (each goes to both worlds). */
  readonly concurrency: number;
  /** B's copy of a statement (the lookup translation, or the identity for the control). */
  readonly translate: (statement: Statement) => TranslatedStatement;
}

/** Runs every statement in both worlds and compares the canonical outcomes; results in statement order. */
export async function runPair(
  a: WorldGateway,
  b: WorldGateway,
  statements: readonly Statement[],
  options: RunOptions,
): Promise<StatementRun[]> {
  const runs: StatementRun[] = new Array(statements.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < statements.length; i = next++) {
      const statement = statements[i] as Statement;
      const translated = options.translate(statement);
      const [rawA, rawB] = await Promise.all([
        runInWorld(a, statement.sql, statement.params),
        runInWorld(b, translated.sql, translated.params),
      ]);
      const canonicalA = canonicalOutcome(rawA);
      const canonicalB = canonicalOutcome(rawB, translated.replaced);
      const difference = compareOutcomes(canonicalA, canonicalB);
      let unstable = false;
      // A difference counts only when it repeats: both worlds are run twice more, and any run that differs from
      // its world's first (or two later runs that agree across worlds) marks the statement not deterministic.
      for (let round = 0; difference !== undefined && round < 2 && !unstable; round++) {
        const [againA, againB] = await Promise.all([
          runInWorld(a, statement.sql, statement.params),
          runInWorld(b, translated.sql, translated.params),
        ]);
        const nextA = canonicalOutcome(againA);
        const nextB = canonicalOutcome(againB, translated.replaced);
        unstable =
          compareOutcomes(canonicalA, nextA) !== undefined ||
          compareOutcomes(canonicalB, nextB) !== undefined ||
          compareOutcomes(nextA, nextB) === undefined;
      }
      runs[i] = {
        statement,
        translated,
        a: canonicalA,
        b: canonicalB,
        difference,
        unstable,
        serverErrors: [...rawA.serverErrors.map((e) => `A ${e}`), ...rawB.serverErrors.map((e) => `B ${e}`)],
      };
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return runs;
}
