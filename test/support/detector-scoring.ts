// Scores content detectors against the generator's planted-PHI manifest: which planted spans and which decoys got replaced.

import type { CompiledDetectors } from "#shared/masking/detectors.ts";
import { detectPhi } from "#shared/masking/detectors.ts";
import type { NoteSpan } from "#tools/ehr/notes.ts";

/**
 * Decoy variants the detectors mask on purpose: they err toward recall, so an SSN-shaped number the SSA could
 * never have issued (`invalidSsnLike`) is masked like an SSN. They score as planted SSNs, not as decoys.
 */
export const MASKED_DECOYS: ReadonlySet<string> = new Set(["invalid-ssn"]);

/** Whether the detectors must replace a manifest span: planted PHI, or a decoy they mask on purpose. */
export function mustMask(span: NoteSpan): boolean {
  return span.kind !== "decoy" || MASKED_DECOYS.has(span.variant);
}

/** The kind a span is scored under (a decoy masked on purpose scores as the kind it is shaped like). */
export function scoredKind(span: NoteSpan): string {
  return span.kind === "decoy" ? "ssn" : span.kind;
}

/** The markers of the detectors being scored (the defaults unless the policy sets others). */
export const MARKERS = ["[SSN]", "[PHONE]", "[EMAIL]", "[MRN]", "[DATE]"] as const;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The ranges of `original` that `masked` replaced by markers, found by matching the kept text around each marker
 * against the original (anchored at both ends, so a kept "." after a dotted phone number lands where it belongs).
 * Throws when `masked` is not `original` with ranges replaced by markers.
 */
export function replacedRanges(original: string, masked: string): [number, number][] {
  if (original === masked) return [];
  const marker = new RegExp(MARKERS.map(escapeRegex).join("|"), "g");
  const kept = masked.split(marker);
  const pattern = `^${kept.map(escapeRegex).join("([\\s\\S]+?)")}$`;
  const match = new RegExp(pattern, "d").exec(original);
  if (match?.indices === undefined) throw new Error("masked text does not align with its original");
  const ranges: [number, number][] = [];
  for (let i = 1; i < match.indices.length; i++) {
    const range = match.indices[i];
    if (range !== undefined) ranges.push([range[0], range[1]]);
  }
  return ranges;
}

/** Per planted kind and variant: how many were planted and how many were fully replaced. */
export interface RecallRow {
  readonly kind: string;
  readonly variant: string;
  planted: number;
  masked: number;
  readonly missed: string[];
}

/** What scoring a set of notes found. */
export interface DetectorScore {
  notes: number;
  plants: number;
  plantsMasked: number;
  decoys: number;
  decoysReplaced: number;
  /** Replaced ranges that overlap no span the detectors must mask (decoys or ordinary text). */
  falseRanges: number;
  /** All replaced ranges. */
  ranges: number;
  /** Notes with at least one replaced range that overlaps no planted span. */
  notesWithFalsePositive: number;
  readonly byVariant: Map<string, RecallRow>;
  /** A few false-positive examples (the replaced text), for the report. */
  readonly falseExamples: string[];
}

/** An empty score. */
export function emptyScore(): DetectorScore {
  return {
    notes: 0,
    plants: 0,
    plantsMasked: 0,
    decoys: 0,
    decoysReplaced: 0,
    falseRanges: 0,
    ranges: 0,
    notesWithFalsePositive: 0,
    byVariant: new Map(),
    falseExamples: [],
  };
}

const overlaps = (a: readonly [number, number], start: number, end: number): boolean =>
  a[0] < end && start < a[1];

/** Scans one note and adds what the detectors did with its manifest entries to `score`. */
export function scoreNote(
  detectors: CompiledDetectors,
  note: string,
  spans: readonly NoteSpan[],
  score: DetectorScore,
): void {
  const ranges = replacedRanges(note, detectPhi(detectors, note).text);
  score.notes++;
  score.ranges += ranges.length;
  const plants = spans.filter(mustMask);
  for (const span of spans) {
    if (!mustMask(span)) {
      score.decoys++;
      if (ranges.some((r) => overlaps(r, span.start, span.end))) score.decoysReplaced++;
      continue;
    }
    const kind = scoredKind(span);
    const key = `${kind}/${span.variant}`;
    let row = score.byVariant.get(key);
    if (row === undefined) {
      row = { kind, variant: span.variant, planted: 0, masked: 0, missed: [] };
      score.byVariant.set(key, row);
    }
    row.planted++;
    score.plants++;
    const covered = ranges.filter((r) => overlaps(r, span.start, span.end));
    const full = covered.some((r) => r[0] <= span.start && r[1] >= span.end);
    if (full) {
      row.masked++;
      score.plantsMasked++;
    } else if (row.missed.length < 5) {
      row.missed.push(span.value);
    }
  }
  let falseHere = 0;
  for (const range of ranges) {
    if (plants.some((p) => overlaps(range, p.start, p.end))) continue;
    falseHere++;
    if (score.falseExamples.length < 10) score.falseExamples.push(note.slice(range[0], range[1]));
  }
  score.falseRanges += falseHere;
  if (falseHere > 0) score.notesWithFalsePositive++;
}
