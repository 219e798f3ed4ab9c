// The file-backed approval store: conditional writes (create once, decide once per approver, move status once), durable files.

import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileApprovalStore } from "#infra/local/adapters/file-approval-store.ts";
import type { ApprovalState } from "#shared/approval/approval-request.ts";
import { APPROVAL_ID as ID, APPROVAL_NOW as NOW, pendingApproval } from "#test/support/approval-state.ts";

const fresh = (): ApprovalState => pendingApproval();

const decision = (who: string) => ({
  approver: who,
  approverKey: `https://idp.test#${who}`,
  issuer: "https://idp.test",
  subject: who,
  decision: "approve" as const,
  at: NOW.toISOString(),
  comment: null,
  binding: "a".repeat(64),
  via: "api" as const,
});

describe("FileApprovalStore", () => {
  let dir: string;
  let store: FileApprovalStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-approvals-"));
    store = new FileApprovalStore(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates once, in a private file, with nothing left behind", async () => {
    await store.create(fresh());
    await expect(store.create(fresh())).rejects.toMatchObject({ code: "approval_exists" });
    expect(await readdir(dir)).toEqual([`${ID}.json`]);
    expect((await stat(join(dir, `${ID}.json`))).mode & 0o777).toBe(0o600);
    expect(await store.get(ID)).toEqual(fresh());
    expect(await store.get("apr_0000000000000000000000000B")).toBeUndefined();
    expect(await store.get("../../etc/passwd")).toBeUndefined();
  });

  it("appends a decision once per approver, only at the expected version, only while pending and unexpired", async () => {
    await store.create(fresh());
    const first = await store.appendDecision(ID, {
      expectedVersion: 1,
      decision: decision("alice"),
      status: "pending",
      at: NOW,
    });
    expect(first).toMatchObject({ version: 2, status: "pending", decidedAt: null });
    await expect(
      store.appendDecision(ID, {
        expectedVersion: 2,
        decision: decision("alice"),
        status: "approved",
        at: NOW,
      }),
    ).rejects.toMatchObject({ code: "already_decided" });
    await expect(
      store.appendDecision(ID, {
        expectedVersion: 1,
        decision: decision("bob"),
        status: "approved",
        at: NOW,
      }),
    ).rejects.toMatchObject({ code: "version_conflict" });
    await expect(
      store.appendDecision(ID, {
        expectedVersion: 2,
        decision: decision("bob"),
        status: "approved",
        at: new Date("2026-11-29T13:00:00Z"),
      }),
    ).rejects.toMatchObject({ status: 410, code: "expired" });
    const second = await store.appendDecision(ID, {
      expectedVersion: 2,
      decision: decision("bob"),
      status: "approved",
      at: NOW,
    });
    expect(second).toMatchObject({ version: 3, status: "approved", decidedAt: NOW.toISOString() });
    await expect(
      store.appendDecision(ID, {
        expectedVersion: 3,
        decision: decision("carol"),
        status: "approved",
        at: NOW,
      }),
    ).rejects.toMatchObject({ code: "already_decided" });
  });

  it("moves a status once, keeps the task token, and closes by erasing the raw parameters", async () => {
    await store.create(fresh());
    await store.setTask(ID, { taskToken: "tt_1", at: NOW });
    const notified = await store.setTask(ID, { taskToken: "tt_1", notifiedAt: NOW, at: NOW });
    expect(notified).toMatchObject({ taskToken: "tt_1", notifiedAt: NOW.toISOString() });
    expect((await store.setTask(ID, { taskToken: "tt_2", at: NOW })).notifiedAt).toBe(NOW.toISOString());
    await store.transition(ID, ["pending"], "expired", NOW);
    await expect(store.transition(ID, ["pending"], "approved", NOW)).rejects.toMatchObject({
      code: "status_conflict",
    });
    expect(await store.listOpen()).toHaveLength(1);
    const closed = await store.close(ID, NOW);
    expect(closed).toMatchObject({ params: null, closedAt: NOW.toISOString(), status: "expired" });
    expect((await store.close(ID, new Date())).version).toBe(closed.version);
    expect(await store.listOpen()).toEqual([]);
  });

  it("serializes concurrent conditional writes on one approval (exactly one of two racing approvers wins a version)", async () => {
    await store.create(fresh());
    const results = await Promise.allSettled([
      store.appendDecision(ID, {
        expectedVersion: 1,
        decision: decision("alice"),
        status: "pending",
        at: NOW,
      }),
      store.appendDecision(ID, { expectedVersion: 1, decision: decision("bob"), status: "pending", at: NOW }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect((await store.get(ID))?.decisions).toHaveLength(1);
  });
});
