// Replay from the real stores: who may replay, every record version with its chain digest, and a tampered result withheld.

import { open } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError } from "#shared/errors.ts";
import { principalKey } from "#shared/identity/principal.ts";
import { silentLogger } from "#shared/log.ts";
import { parsePolicy } from "#shared/policy/load.ts";
import { replaySession } from "#shared/sessions/replay.ts";
import { renderReplay } from "#shared/sessions/replay-html.ts";
import { type EvidenceFixture, openEvidenceFixture, TEST_POLICY } from "#test/support/evidence-fixture.ts";

const ISSUER = "https://idp.test/";
const who = (subject: string, groups: string[] = []) => ({
  issuer: ISSUER,
  subject,
  key: principalKey(ISSUER, subject),
  audience: ["phigate"],
  groups,
  claims: {},
  expiresAt: 0,
});

describe("replaySession", () => {
  let f: EvidenceFixture;
  let deps: Parameters<typeof replaySession>[0];
  beforeEach(async () => {
    f = await openEvidenceFixture();
    const policy = parsePolicy(TEST_POLICY, "test");
    deps = {
      sessions: f.sessions,
      objects: f.objects,
      policy: { current: () => policy, context: { devIssuer: undefined } },
      logger: silentLogger,
    } as unknown as Parameters<typeof replaySession>[0];
  });
  afterEach(async () => {
    await f.close();
  });

  it("replays to the requester and auditors, in order, with every version's chain digest", async () => {
    await f.completed();
    const record = await f.completed({
      rows: [
        [1, "cardiology"],
        [2, "oncology"],
      ],
    });
    for (const caller of [who("tester"), who("audrey", ["auditors"])]) {
      const replay = await replaySession(deps, caller, record.sessionId);
      expect(Object.keys(replay.exchange)).toEqual([
        "request",
        "classification",
        "decision",
        "approvals",
        "execution",
        "masking",
        "response",
      ]);
      expect(replay.exchange.response).toMatchObject({
        integrity: "verified",
        rows: [
          [1, "cardiology"],
          [2, "oncology"],
        ],
        rowsShown: 2,
      });
      expect(replay.versions.map((v) => [v.seq, v.version, v.status, v.digestVerified])).toEqual([
        [3, 1, "running", true],
        [4, 2, "completed", true],
      ]);
      expect(replay.versions[1]?.prev).toBe(replay.versions[0]?.digest);
    }
    for (const caller of [who("alice", ["phi-approvers"]), who("stranger")]) {
      await expect(replaySession(deps, caller, record.sessionId)).rejects.toBeInstanceOf(NotFoundError);
    }
    await expect(replaySession(deps, who("tester"), "ses_00000000000000000000000000")).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it("withholds the rows of a stored result that no longer matches its recorded SHA-256", async () => {
    const record = await f.completed();
    const source = await f.objects.source(record.result?.object.key ?? "");
    const tampered = JSON.stringify({ columns: ["department"], rows: [["123-45-6789"]] });
    expect(tampered.length).toBeLessThanOrEqual(source.size ?? 0);
    const file = await open(source.path, "r+");
    await file.write(tampered.padEnd(source.size ?? 0), source.start);
    await file.close();
    const replay = await replaySession(deps, who("tester"), record.sessionId);
    expect(replay.exchange.response).toMatchObject({ integrity: "digest_mismatch", rows: [], rowsShown: 0 });
    const page = renderReplay(replay);
    expect(page).toContain("does not match the recorded SHA-256: rows withheld");
    expect(page).not.toContain("123-45-6789");
  });
});
