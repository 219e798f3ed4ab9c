// The transparency log through HTTP (issue 16): 200 parallel queries, then every session's proof verifies against the final checkpoint.

import { createPublicKey } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCheckpoint } from "#shared/log/checkpoint.ts";
import { verifyConsistency } from "#shared/log/merkle.ts";
import { verifySessionProof } from "#shared/log/verify-session-proof.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import { EXPECTED_STATUS, mixedRequest, sessionIdOf, withHighRateLimits } from "#test/support/load.ts";

const QUERIES = 200;

describe("transparency log on the local host", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ policy: withHighRateLimits(await readFile("policy/demo.yaml", "utf8")) });
  });
  afterAll(async () => gw?.close());

  it("proves every one of 200 parallel sessions against the final checkpoint; every checkpoint extends the one before", async () => {
    const nightly = await gw.token(NIGHTLY);
    const answers = await Promise.all(
      Array.from({ length: QUERIES }, async (_, i) => {
        const { kind, body } = mixedRequest(i);
        const answer = await gw.query(nightly, body);
        return { kind, status: answer.status, sessionId: sessionIdOf(answer.body) };
      }),
    );
    expect(answers.filter((a) => a.status !== EXPECTED_STATUS[a.kind])).toEqual([]);
    const auditor = await gw.token("carol", { groups: ["auditors"] });
    const key = gw.host.deps.signer;
    const fingerprint = (await key.publicKey()).fingerprint;
    const publicKey = createPublicKey((await key.publicKey()).pem);
    const log = gw.host.deps.log;
    if (log === undefined) throw new Error("the local host has no log");

    const final = await log.covering(log.latest().size);
    let largest = 0;
    for (const { sessionId } of answers) {
      const answer = await gw.request("GET", `/v1/sessions/${sessionId}/proof`, { token: auditor });
      expect(answer.status).toBe(200);
      const v = verifySessionProof(answer.body, fingerprint);
      expect(v.problems).toEqual([]);
      largest = Math.max(largest, v.checkpoint?.size ?? 0);
    }
    const latest = log.latest();
    expect(largest).toBeLessThanOrEqual(latest.size);
    expect(latest.size).toBeGreaterThanOrEqual(final.size);

    const dir = join(gw.dataDir, "log", "checkpoints");
    const notes = (await readdir(dir)).filter((n) => n.endsWith(".note")).sort();
    expect(notes.length).toBeGreaterThan(1);
    let previous: { size: number; root: Uint8Array } | undefined;
    for (const name of notes) {
      const reading = readCheckpoint(await readFile(join(dir, name), "utf8"), publicKey, log.origin);
      if (!reading.ok) throw new Error(`${name}: ${reading.message}`);
      const current = reading.checkpoint;
      if (previous !== undefined) {
        const proof = log.consistencyProof(previous.size, current.size);
        expect(verifyConsistency(previous.size, current.size, proof, previous.root, current.root), name).toBe(
          true,
        );
      }
      previous = current;
    }
  }, 300_000);

  it("answers 404 to the requester and to strangers, 400 to a bad since, and a consistency proof with since", async () => {
    const nightly = await gw.token(NIGHTLY);
    const answer = await gw.query(nightly, mixedRequest(0).body);
    const sessionId = sessionIdOf(answer.body);
    const requester = await gw.request("GET", `/v1/sessions/${sessionId}/proof`, { token: nightly });
    expect(requester.status).toBe(404);
    const stranger = await gw.request("GET", `/v1/sessions/${sessionId}/proof`, {
      token: await gw.token("mallory"),
    });
    expect(stranger.status).toBe(404);
    const auditor = await gw.token("carol", { groups: ["auditors"] });
    expect(
      (await gw.request("GET", `/v1/sessions/${sessionId}/proof?since=x`, { token: auditor })).status,
    ).toBe(400);
    const fingerprint = (await gw.host.deps.signer.publicKey()).fingerprint;
    const held = await gw.host.deps.log?.checkpointAt(1);
    const proof = await gw.request("GET", `/v1/sessions/${sessionId}/proof?since=1`, { token: auditor });
    expect(proof.status).toBe(200);
    expect(verifySessionProof(proof.body, fingerprint, { note: held?.note ?? "" }).problems).toEqual([]);
    const tampered = structuredClone(proof.body);
    tampered.versions[0].entry.record.request.purpose = "rewritten";
    expect(verifySessionProof(tampered, fingerprint).problems[0]?.class).toBe("record_altered");
    const moved = structuredClone(proof.body);
    moved.versions[0].index += 1;
    expect(verifySessionProof(moved, fingerprint).problems[0]?.class).toBe("not_included");
    expect(verifySessionProof(proof.body, "0".repeat(64)).problems[0]?.class).toBe("untrusted_key");
  }, 120_000);
});
