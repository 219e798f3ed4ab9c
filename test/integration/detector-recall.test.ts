// Detector recall and false positives on the generator's planted-PHI manifest (every note of the default dataset),
// and the same masking end to end through HTTP on notes known to carry planted PHI.

import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CompiledDetectors, compileDetectors, detectPhi } from "#shared/masking/detectors.ts";
import { loadPolicyFile } from "#shared/policy/load.ts";
import {
  type DetectorScore,
  emptyScore,
  mustMask,
  scoredKind,
  scoreNote,
} from "#test/support/detector-scoring.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import { generateAnnotatedEncounters } from "#tools/ehr/generate.ts";
import type { NoteSpan } from "#tools/ehr/notes.ts";

let detectors: CompiledDetectors;
/** Per kind/variant, the first few encounters (id, note, spans) carrying a plant of it. */
const samples = new Map<string, { id: number; note: string; spans: NoteSpan[] }[]>();
let score: DetectorScore;

function percent(part: number, whole: number): string {
  return whole === 0 ? "n/a" : `${((100 * part) / whole).toFixed(2)} %`;
}

beforeAll(async () => {
  const policy = await loadPolicyFile(resolve("policy/demo.yaml"));
  detectors = compileDetectors(policy.document.masking.detectors);
  score = emptyScore();
  for (const batch of generateAnnotatedEncounters()) {
    const byEncounter = new Map<number, NoteSpan[]>();
    for (const span of batch.spans) {
      const list = byEncounter.get(span.encounterId) ?? [];
      list.push(span);
      byEncounter.set(span.encounterId, list);
    }
    for (const row of batch.rows) {
      if (row.notes === null) continue;
      const spans = byEncounter.get(row.id) ?? [];
      scoreNote(detectors, row.notes, spans, score);
      for (const span of spans) {
        if (!mustMask(span)) continue;
        const key = `${scoredKind(span)}/${span.variant}`;
        const list = samples.get(key) ?? [];
        if (list.length < 4 && !list.some((s) => s.id === row.id))
          list.push({ id: row.id, note: row.notes, spans });
        samples.set(key, list);
      }
    }
  }
  const rows = [...score.byVariant.values()].sort(
    (a, b) => a.kind.localeCompare(b.kind) || a.variant.localeCompare(b.variant),
  );
  console.log(
    [
      `detector recall on the planted set (${score.notes} notes of the default dataset, demo policy detectors):`,
      ...rows.map(
        (r) =>
          `  ${r.kind.padEnd(6)} ${r.variant.padEnd(14)} ${String(r.masked).padStart(5)} / ${String(r.planted).padStart(5)}`,
      ),
      `  recall ${score.plantsMasked} / ${score.plants} = ${percent(score.plantsMasked, score.plants)}`,
      `  decoys replaced ${score.decoysReplaced} / ${score.decoys} = ${percent(score.decoysReplaced, score.decoys)}`,
      `  replaced spans on no planted PHI ${score.falseRanges} / ${score.ranges} = ${percent(score.falseRanges, score.ranges)}`,
      `  notes with a false positive ${score.notesWithFalsePositive} / ${score.notes} = ${percent(score.notesWithFalsePositive, score.notes)}`,
      ...(score.falseExamples.length > 0
        ? [`  false-positive examples: ${score.falseExamples.join(" | ")}`]
        : []),
    ].join("\n"),
  );
}, 180_000);

describe("detector recall on the planted set", () => {
  it("scored every note of the default dataset and every planted kind", () => {
    expect(score.notes).toBeGreaterThan(50_000);
    expect(new Set([...score.byVariant.values()].map((r) => r.kind))).toEqual(
      new Set(["ssn", "phone", "email", "mrn", "date"]),
    );
  });

  it("masks 100 % of the planted PHI, in every kind and written form, and every impossible SSN-shaped decoy", () => {
    const missed = [...score.byVariant.values()]
      .filter((r) => r.masked < r.planted)
      .map((r) => `${r.kind}/${r.variant}: ${r.planted - r.masked} missed, e.g. ${r.missed.join(", ")}`);
    expect(missed).toEqual([]);
    expect(score.plantsMasked).toBe(score.plants);
  });

  it("masks impossible SSN-shaped numbers on purpose: the recall-leaning detectors count them as SSNs", () => {
    const row = score.byVariant.get("ssn/invalid-ssn");
    expect(row?.planted).toBeGreaterThan(1_000);
    expect(row?.masked).toBe(row?.planted);
  });

  it("replaces no other decoy kind (lab values, vitals, doses, ICD codes, NDCs, years, durations)", () => {
    expect(score.decoys).toBeGreaterThan(10_000);
    expect(score.decoysReplaced).toBe(0);
    expect(score.falseRanges).toBe(0);
    expect(score.notesWithFalsePositive).toBe(0);
  });

  it("would notice a detector that misses: an empty detector set scores zero recall", () => {
    const none = compileDetectors({ kinds: [], replacements: {} });
    const control = emptyScore();
    const [first] = samples.get("ssn/own-dashed") ?? [];
    expect(first).toBeDefined();
    if (first !== undefined) scoreNote(none, first.note, first.spans, control);
    expect(control.plants).toBeGreaterThan(0);
    expect(control.plantsMasked).toBe(0);
  });
});

describe("detectors end to end through HTTP", () => {
  let gw: TestGateway;
  let nightly: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    nightly = await gw.token(NIGHTLY);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("returns notes with planted PHI and impossible SSNs masked exactly as the detectors do, decoys intact", async () => {
    const picked = new Map<number, { note: string; spans: NoteSpan[] }>();
    for (const list of samples.values()) for (const s of list) picked.set(s.id, s);
    const ids = [...picked.keys()].sort((a, b) => a - b);
    expect(ids.length).toBeGreaterThan(40);
    const answer = await gw.query(nightly, {
      sql: `SELECT id, notes FROM encounters WHERE id IN (${ids.join(", ")}) ORDER BY id`,
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.columns[1]).toMatchObject({ name: "notes", masking: { strategy: "detect" } });
    expect(answer.body.rows).toHaveLength(ids.length);
    for (const [id, masked] of answer.body.rows as [number, string][]) {
      const expected = picked.get(id);
      expect(expected).toBeDefined();
      if (expected === undefined) continue;
      expect(masked).toBe(detectPhi(detectors, expected.note).text);
      for (const span of expected.spans) {
        if (!mustMask(span)) expect(masked, `decoy in encounter ${id}`).toContain(span.value);
        else expect(masked, `${span.variant} in encounter ${id}`).not.toContain(span.value);
      }
    }
    const session = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}`, { token: nightly });
    expect(session.body.result.rows).toEqual(answer.body.rows);
  });
});
