// Helpers for approval tests: the risky statement, an adjustable clock, policy variants, polling and the outbox.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Execution, executionSchema, STOPPED_FOLDER } from "#infra/local/adapters/workflow-execution.ts";
import type { Clock } from "#shared/ports.ts";
import type { Answer, TestGateway } from "#test/support/gateway.ts";

/** Every patient joined to their full encounter history: the demo policy asks for approval (contract §3). */
export const RISKY_SQL = "SELECT p.*, e.* FROM patients p JOIN encounters e ON e.patient_id = p.id";

/**
 * A small risky read: seven PHI columns at once, more than the demo policy's `many-phi-columns` rule lets through
 * without an approver. The parameter only makes requests distinct (no patient lives in state "1%").
 */
export const RISKY_SMALL_SQL =
  "SELECT id, ssn, first_name, dob, mrn, last_name, zip, phone FROM patients WHERE state <> $1 ORDER BY id LIMIT 20";

/** An SSN as the synthetic EHR writes it: never allowed in a masked result. */
export const RAW_SSN = /\b\d{3}-\d{2}-\d{4}\b/;

/** Raw SSNs of the first patients, read straight from the database (to prove none reaches a caller). */
export async function rawSsns(gw: TestGateway, count = 200): Promise<string[]> {
  const values: string[] = [];
  await gw.host.deps.executor.execute(
    {
      sql: `SELECT ssn FROM patients ORDER BY id LIMIT ${count}`,
      params: [],
      timeoutMs: 10_000,
      maxRows: count,
      pageSize: count,
    },
    { columns: () => undefined, rows: (page) => void values.push(...page.map((r) => String(r[0]))) },
  );
  return values;
}

/** A clock that can be moved forward (timers in the gateway are deadlines against it). */
export interface AdjustableClock extends Clock {
  advance(seconds: number): void;
  readonly offsetMs: number;
}

/** A clock running with real time, offset by `offsetMs` plus whatever `advance` adds. */
export function adjustableClock(offsetMs = 0): AdjustableClock {
  let offset = offsetMs;
  return {
    now: () => new Date(Date.now() + offset),
    advance(seconds: number) {
      offset += seconds * 1000;
    },
    get offsetMs() {
      return offset;
    },
  };
}

/** The demo policy with changes applied by plain text replacement (each `from` must occur). */
export async function demoPolicyWith(replacements: readonly [string, string][]): Promise<string> {
  let text = await readFile("policy/demo.yaml", "utf8");
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`the demo policy has no ${from}`);
    text = text.replace(from, to);
  }
  return text;
}

/** Long-polls a session until its status is one of `statuses` (or the deadline passes). */
export async function waitForStatus(
  gw: TestGateway,
  token: string,
  sessionId: string,
  statuses: readonly string[],
  timeoutMs = 60_000,
): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await gw.request("GET", `/v1/sessions/${sessionId}?wait=20`, { token });
    if (answer.status !== 200 || statuses.includes(answer.body.status) || Date.now() > deadline)
      return answer;
  }
}

/** Polls until `check` returns a value (or throws after the timeout). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The `.eml` files in a gateway's outbox that mention an approval id. */
export async function outboxMessages(dataDir: string, approvalId: string): Promise<string[]> {
  const directory = join(dataDir, "outbox");
  const names = await readdir(directory).catch(() => [] as string[]);
  const texts = await Promise.all(
    names
      .filter((n) => n.endsWith(".eml") && n.includes(approvalId))
      .map((n) => readFile(join(directory, n), "utf8")),
  );
  return texts;
}

/** Submits a decision through the API. */
export function decide(
  gw: TestGateway,
  token: string,
  approvalId: string,
  body: { decision: "approve" | "deny"; comment?: string; binding?: string },
): Promise<Answer> {
  return gw.request("POST", `/v1/approvals/${approvalId}/decision`, { token, body });
}

/**
 * An in-process workflow execution's document, wherever it is: `<directory>/<name>.json` while running,
 * `<directory>/stopped/<name>.json` once stopped (read in that order: a move goes from the first to the second).
 */
export async function readExecution(directory: string, name: string): Promise<Execution> {
  let text: string;
  try {
    text = await readFile(join(directory, `${name}.json`), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    text = await readFile(join(directory, STOPPED_FOLDER, `${name}.json`), "utf8");
  }
  return executionSchema.parse(JSON.parse(text));
}
