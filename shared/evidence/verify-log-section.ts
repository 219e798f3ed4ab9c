// Verifies a bundle's log section offline: signed checkpoints, roots re-derived from the entries, and (optionally) an earlier bundle's end.

import type { KeyObject } from "node:crypto";
import type { Manifest } from "#shared/evidence/bundle-format.ts";
import { readCapped } from "#shared/evidence/bundle-reader.ts";
import { LOG_FILES, type LogRange, logRangeSchema } from "#shared/evidence/log-section.ts";
import type { Problem } from "#shared/evidence/problems.ts";
import { readCheckpoint, type SignedCheckpoint } from "#shared/log/checkpoint.ts";
import { EMPTY_ROOT, sameHash, verifyConsistency } from "#shared/log/merkle.ts";
import { RangeAccumulator } from "#shared/log/range-proof.ts";

/** The end of an earlier bundle the auditor trusts (`verify-evidence --previous`). */
export interface PreviousCheckpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
}

/** What the log section proved, for the summary and for the next `--previous`. */
export interface VerifiedLog {
  readonly origin: string;
  readonly start: { readonly size: number; readonly root: string };
  readonly end: { readonly size: number; readonly root: string };
  /** `extends`: the range's start extends the previous bundle's end; absent without `--previous`. */
  readonly previous?: { readonly size: number; readonly outcome: "extends" };
}

const MAX_NOTE_BYTES = 64 * 1024;
const MAX_RANGE_BYTES = 1024 * 1024;
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

async function readNote(dir: string, path: string): Promise<string | undefined> {
  try {
    return (await readCapped(dir, path, MAX_NOTE_BYTES)).toString("utf8");
  } catch {
    return undefined;
  }
}

async function readRange(dir: string): Promise<LogRange | undefined> {
  try {
    const parsed = logRangeSchema.safeParse(
      JSON.parse((await readCapped(dir, LOG_FILES.range, MAX_RANGE_BYTES)).toString("utf8")),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Collects the leaf hashes of sessions.jsonl (in file order) and checks them against the log section: the
 * checkpoints must be signed by the bundle's key for the manifest's origin and sizes, the start's frontier must
 * re-derive the start root, and the frontier with every leaf appended the end root (so no entry can be left out,
 * added, changed or moved). With `previous`, the start must extend the earlier bundle's end: equal roots at equal
 * sizes, the range's own leaves when the earlier end falls inside it, or the bundled consistency proof before it.
 */
export class LogSectionCheck {
  private added = 0;
  private rootAtPrevious: Uint8Array | undefined;

  private constructor(
    private readonly manifest: Manifest,
    private readonly previous: PreviousCheckpoint | undefined,
    private readonly range: LogRange | undefined,
    private readonly accumulator: RangeAccumulator | undefined,
  ) {}

  /** Reads `log/range.json` (when the manifest declares a log) so that leaves can be added as they are read. */
  static async open(
    dir: string,
    manifest: Manifest,
    previous: PreviousCheckpoint | undefined,
  ): Promise<LogSectionCheck> {
    const declared = manifest.log;
    if (declared === undefined) return new LogSectionCheck(manifest, previous, undefined, undefined);
    const range = await readRange(dir);
    const usable =
      range !== undefined &&
      range.origin === declared.origin &&
      range.start === declared.start &&
      range.end === declared.end;
    const frontier = usable ? range.frontier.map((h) => Uint8Array.from(Buffer.from(h, "base64"))) : [];
    return new LogSectionCheck(
      manifest,
      previous,
      usable ? range : undefined,
      usable ? RangeAccumulator.after(range.start, frontier) : undefined,
    );
  }

  /** The leaf hash of the next line of sessions.jsonl. */
  add(leaf: Uint8Array): void {
    this.added += 1;
    if (this.accumulator === undefined) return;
    this.accumulator.push(leaf);
    if (this.previous !== undefined && this.accumulator.size === this.previous.size) {
      this.rootAtPrevious = this.accumulator.root();
    }
  }

  /** Checks the checkpoints and the roots once every line was added. */
  async verify(
    dir: string,
    publicKey: KeyObject | undefined,
  ): Promise<{ problems: Problem[]; log?: VerifiedLog }> {
    const declared = this.manifest.log;
    const problems: Problem[] = [];
    if (declared === undefined) {
      if (this.previous !== undefined) {
        problems.push({
          class: "log_inconsistent",
          message: "--previous was given but this bundle has no log section",
        });
      }
      return { problems };
    }
    const invalid = (message: string) => ({
      problems: [{ class: "log_checkpoint_invalid" as const, message }],
    });
    if (publicKey === undefined) return invalid("the bundle's public key cannot check the log checkpoints");
    const checkpoints: SignedCheckpoint[] = [];
    for (const [path, size] of [
      [LOG_FILES.start, declared.start],
      [LOG_FILES.end, declared.end],
    ] as const) {
      const note = await readNote(dir, path);
      if (note === undefined) return invalid(`${path} cannot be read`);
      const reading = readCheckpoint(note, publicKey, declared.origin);
      if (!reading.ok) return invalid(`${path}: ${reading.message}`);
      if (reading.checkpoint.size !== size) {
        return invalid(`${path} is for ${reading.checkpoint.size} entries, the manifest says ${size}`);
      }
      checkpoints.push(reading.checkpoint);
    }
    const [start, end] = checkpoints as [SignedCheckpoint, SignedCheckpoint];
    const range = this.range;
    const accumulator = this.accumulator;
    if (range === undefined) {
      return {
        problems: [
          {
            class: "log_proof_failed",
            message: `${LOG_FILES.range} is unreadable or disagrees with the manifest`,
          },
        ],
      };
    }
    const first = this.manifest.chain.first;
    const last = this.manifest.chain.last;
    if (first === null || last === null || first.seq - 1 !== start.size || last.seq !== end.size) {
      problems.push({
        class: "log_proof_failed",
        message: `the log range [${start.size}, ${end.size}) is not the chain range seq ${first?.seq ?? "-"}–${last?.seq ?? "-"}`,
      });
    }
    const frontierRoot =
      accumulator === undefined
        ? undefined
        : RangeAccumulator.after(
            start.size,
            range.frontier.map((h) => Uint8Array.from(Buffer.from(h, "base64"))),
          )?.root();
    if (
      accumulator === undefined ||
      frontierRoot === undefined ||
      !sameHash(frontierRoot, start.size === 0 ? EMPTY_ROOT : start.root)
    ) {
      problems.push({
        class: "log_proof_failed",
        message: `the bundled frontier does not re-derive the start checkpoint's root (size ${start.size})`,
      });
      return { problems };
    }
    if (this.added !== end.size - start.size || !sameHash(accumulator.root(), end.root)) {
      problems.push({
        class: "log_proof_failed",
        message: `the ${this.added} entries of sessions.jsonl do not re-derive the end checkpoint's root (leaves ${start.size}–${end.size - 1}): an entry was removed, added, changed or moved`,
      });
    }
    const verified: VerifiedLog = {
      origin: declared.origin,
      start: { size: start.size, root: hex(start.root) },
      end: { size: end.size, root: hex(end.root) },
    };
    const p = this.previous;
    if (p === undefined) return { problems, log: verified };
    const previousProblem = this.checkPrevious(p, start, range, this.rootAtPrevious);
    if (previousProblem !== undefined) {
      problems.push({ class: "log_inconsistent", message: previousProblem });
      return { problems, log: verified };
    }
    return { problems, log: { ...verified, previous: { size: p.size, outcome: "extends" } } };
  }

  private checkPrevious(
    p: PreviousCheckpoint,
    start: SignedCheckpoint,
    range: LogRange,
    rootInRange: Uint8Array | undefined,
  ): string | undefined {
    if (p.origin !== start.origin)
      return `the previous bundle is from log ${p.origin}, this one from ${start.origin}`;
    if (p.size === start.size) {
      return sameHash(p.root, start.root)
        ? undefined
        : `a fork: the previous bundle's checkpoint and this bundle's both have ${p.size} entries but different roots`;
    }
    if (p.size > start.size) {
      if (rootInRange === undefined)
        return `the previous bundle ends at ${p.size}, after this bundle's range`;
      return sameHash(rootInRange, p.root)
        ? undefined
        : `the previous bundle's checkpoint of size ${p.size} is not the tree this bundle's entries re-derive: history was rewritten`;
    }
    if (range.previous === undefined || range.previous.size !== p.size) {
      return `this bundle carries no consistency proof from size ${p.size} (ask for it with previousSize ${p.size})`;
    }
    const proof = range.previous.consistency.map((h) => Uint8Array.from(Buffer.from(h, "base64")));
    return verifyConsistency(p.size, start.size, proof, p.root, start.root)
      ? undefined
      : `the tree of size ${start.size} does not extend the previous bundle's tree of size ${p.size}: history was rewritten`;
  }
}

/** The end of a verified bundle's log range, as the next bundle's `--previous`. */
export function previousFrom(log: VerifiedLog): PreviousCheckpoint {
  return { origin: log.origin, size: log.end.size, root: Uint8Array.from(Buffer.from(log.end.root, "hex")) };
}
