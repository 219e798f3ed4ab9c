// Nothing about a statement is answered before its connection is reset: an executor may hand back its rows while
// the reset still runs (ExecuteSummary.settled), and the gateway stores the result meanwhile, but its answer, a
// success or a failure, waits for the reset, and a reset that cannot be said to have ended fails the statement.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnavailableError } from "#shared/errors.ts";
import type { ObjectStore, SqlExecutor } from "#shared/ports.ts";
import { type Answer, NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

/** A reset the test ends by hand. */
interface Gate {
  readonly settled: Promise<void>;
  open(): void;
  /** Whether the gateway has stored the result (or tried to) while the gate was still shut. */
  storedWhileShut: boolean;
}

function gate(): Gate {
  let open = (): void => undefined;
  const settled = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { settled, open: () => open(), storedWhileShut: false };
}

/** Whether a promise is still pending after `ms`. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const marker = Symbol("pending");
  const outcome = await Promise.race([promise, new Promise((r) => setTimeout(() => r(marker), ms))]);
  return outcome === marker;
}

describe("a statement's answer waits for its connection's reset", () => {
  let gw: TestGateway;
  let token: string;
  let current: Gate | undefined;
  let storeFails = false;
  let resetFails = false;

  beforeAll(async () => {
    gw = await startTestGateway({
      wrapDeps: (deps) => {
        const executor: SqlExecutor = {
          estimateRows: (...args) => deps.executor.estimateRows(...args),
          loadCatalog: () => deps.executor.loadCatalog(),
          close: () => deps.executor.close(),
          async execute(request, sink) {
            const summary = await deps.executor.execute(request, sink);
            const shut = current;
            if (shut === undefined) return summary;
            const settled = Promise.all([summary.settled, shut.settled]).then(() => {
              if (resetFails)
                throw new UnavailableError("database_unavailable", "the database is unavailable");
            });
            return { ...summary, settled };
          },
        };
        const objects: ObjectStore = {
          get: (key) => deps.objects.get(key),
          readUrl: (key, ttl) => deps.objects.readUrl(key, ttl),
          async put(key, body, contentType) {
            if (current !== undefined) current.storedWhileShut = true;
            if (storeFails) throw new Error("disk full");
            return deps.objects.put(key, body, contentType);
          },
        };
        return { ...deps, executor, objects };
      },
    });
    token = await gw.token(NIGHTLY);
    // The first statement loads the parser and the catalog: its time is not the reset's.
    const warm = await gw.query(token, { sql: "SELECT id FROM encounters ORDER BY id LIMIT 1" });
    expect(warm.status, warm.text).toBe(200);
  });
  afterAll(async () => {
    await gw?.close();
  });

  async function gated(): Promise<{ answer: Answer; shut: Gate }> {
    const shut = gate();
    current = shut;
    try {
      const answering = gw.query(token, { sql: "SELECT id, department FROM encounters ORDER BY id LIMIT 5" });
      // The result is stored while the reset runs...
      for (let waited = 0; !shut.storedWhileShut && waited < 20_000; waited += 20) {
        expect(await pendingAfter(answering, 20), "answered before the reset ended").toBe(true);
      }
      expect(shut.storedWhileShut, "the result was stored while the reset ran").toBe(true);
      // ...and whatever became of it, nothing is answered until the reset ends.
      expect(await pendingAfter(answering, 300), "answered before the reset ended").toBe(true);
      shut.open();
      return { answer: await answering, shut };
    } finally {
      current = undefined;
    }
  }

  /** The answer's session is recorded failed, with no rows. */
  async function expectFailedSession(answer: Answer): Promise<void> {
    const session = await gw.request("GET", `/v1/sessions/${answer.body.error.sessionId}`, { token });
    expect(session.body.status).toBe("failed");
    expect(session.body).not.toHaveProperty("result.rows");
  }

  it("answers a completed statement only once the reset is done, having stored its result meanwhile", async () => {
    const { answer } = await gated();
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.rows).toHaveLength(5);
  });

  it("answers a statement whose result could not be stored only once the reset is done, too", async () => {
    storeFails = true;
    try {
      const { answer } = await gated();
      expect(answer.status, answer.text).toBe(500);
      expect(answer.body.error.code).toBe("internal_error");
      await expectFailedSession(answer);
    } finally {
      storeFails = false;
    }
  });

  it("fails a statement whose connection could not be said to be clean, though its result was stored", async () => {
    resetFails = true;
    try {
      const { answer } = await gated();
      expect(answer.status, answer.text).toBe(503);
      expect(answer.body.error.code).toBe("database_unavailable");
      expect(answer.body).not.toHaveProperty("rows");
      await expectFailedSession(answer);
    } finally {
      resetFails = false;
    }
  });
});
