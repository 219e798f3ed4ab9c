// Builds a signed evidence bundle from the session chain of a time range, through the EvidenceStore port.

import { createHash } from "node:crypto";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { BadRequestError, IntegrityError, PhigateError, UnavailableError } from "#shared/errors.ts";
import { ApprovalLines } from "#shared/evidence/approval-lines.ts";
import { assessSession } from "#shared/evidence/assess-session.ts";
import { BoundedTasks } from "#shared/evidence/bounded-tasks.ts";
import {
  BUNDLE_FILES,
  BUNDLE_SCHEMA,
  catalogPath,
  type Manifest,
  type ManifestPolicyChange,
  policyPath,
} from "#shared/evidence/bundle-format.ts";
import { writeLogSection } from "#shared/evidence/log-section.ts";
import { type PolicyChangeView, renderReport } from "#shared/evidence/report-html.ts";
import { type SessionSummary, summarize } from "#shared/evidence/session-summary.ts";
import { newOpaqueId } from "#shared/ids.ts";
import type { TransparencyLog } from "#shared/log/log-ports.ts";
import { errorFields, type Logger } from "#shared/log.ts";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import { diffPolicies } from "#shared/policy/policy-diff.ts";
import type {
  BundleSink,
  CatalogArchive,
  ChainEntry,
  Clock,
  EvidenceStore,
  ObjectStore,
  PolicyArchive,
  SessionStore,
  Signer,
  WrittenFile,
} from "#shared/ports.ts";
import { CHAIN_GENESIS, entryDigest } from "#shared/sessions/chain.ts";
import { POLICY_CHANGE_SCHEMA, policyChangeRecordSchema } from "#shared/sessions/policy-change.ts";
import { type SessionRecord, sessionRecordSchema } from "#shared/sessions/record.ts";
import { ANALYZER_VERSION } from "#shared/sql/analyzer-version.ts";
import { type CatalogRef, parseCatalogSnapshot } from "#shared/sql/catalog-snapshot.ts";
import type { Catalog } from "#shared/sql/types.ts";
import { GENERATOR } from "#shared/version.ts";

/** What the builder needs (the same on both hosts). */
export interface BundleDeps {
  readonly sessions: SessionStore;
  /** Where masked results are kept; each export's result is re-hashed against its record. */
  readonly objects: ObjectStore;
  readonly policies: PolicyArchive;
  /** The catalog snapshots sessions were analyzed against (each export is re-analyzed for the report). */
  readonly catalogs: CatalogArchive;
  readonly signer: Signer;
  readonly evidence: EvidenceStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The transparency log: with it, the bundle carries the range's checkpoints and proofs. */
  readonly log?: TransparencyLog;
}

/** What else a bundle may prove. */
export interface BundleOptions {
  /** The log size an earlier bundle ended at: the bundle then proves its start extends that tree. */
  readonly previousSize?: number;
  /** The id to build under (a requested job's); default a new one. */
  readonly bundleId?: string;
}

/** A sealed bundle. */
export interface BuiltBundle {
  readonly bundleId: string;
  readonly location: string;
  readonly manifest: Manifest;
}

/** Longest range one bundle may cover. */
export const MAX_RANGE_DAYS = 31;
/** Most chain entries one bundle may hold (narrow the range beyond that). */
export const MAX_BUNDLE_ENTRIES = 1_000_000;
/** How long after `to` the builder waits so that writes stamped before `to` are durable when it reads. */
export const SETTLE_MS = 2_000;

const DAY_MS = 86_400_000;
/** sessions.jsonl is written in chunks of about this many characters. */
const WRITE_CHUNK_CHARS = 256 * 1024;

/** Checks a requested range: `from` < `to` <= now, at most MAX_RANGE_DAYS long. */
export function checkRange(from: Date, to: Date, now: Date): void {
  if (!(from.getTime() < to.getTime())) throw new BadRequestError("invalid_range", "from must be before to");
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw new BadRequestError("invalid_range", `a bundle covers at most ${MAX_RANGE_DAYS} days`);
  }
  if (to.getTime() > now.getTime())
    throw new BadRequestError("invalid_range", "to must not be in the future");
}

class PolicyCache {
  private readonly loaded = new Map<string, { policy: LoadedPolicy; name: string; sessions: Set<string> }>();

  constructor(private readonly archive: PolicyArchive) {}

  /** Loads a policy a session (or, without `sessionId`, a policy change) cites. */
  async cite(digest: string, name: string, sessionId: string | undefined): Promise<LoadedPolicy> {
    const known = this.loaded.get(digest);
    if (known !== undefined) {
      if (sessionId !== undefined) known.sessions.add(sessionId);
      return known.policy;
    }
    const text = await this.archive.get(digest);
    if (text === undefined) {
      throw new IntegrityError(
        `policy ${digest} is cited by ${sessionId === undefined ? "a policy change" : "a session"} but is not in the policy archive`,
      );
    }
    if (sha256Hex(text) !== digest) {
      throw new IntegrityError(`the archived policy ${digest} does not hash to its digest: it was altered`);
    }
    const policy = parsePolicy(text, `policy ${digest.slice(0, 12)}`);
    this.loaded.set(digest, { policy, name, sessions: new Set(sessionId === undefined ? [] : [sessionId]) });
    return policy;
  }

  entries(): { digest: string; name: string; sessions: number; text: string }[] {
    return [...this.loaded.entries()]
      .map(([digest, v]) => ({ digest, name: v.name, sessions: v.sessions.size, text: v.policy.text }))
      .sort((a, b) => a.digest.localeCompare(b.digest));
  }
}

class CatalogCache {
  private readonly loaded = new Map<
    string,
    { catalog: Catalog; bytes: Uint8Array; sha256: string; sessions: Set<string> }
  >();

  constructor(private readonly archive: CatalogArchive) {}

  async cite(ref: CatalogRef, sessionId: string): Promise<Catalog> {
    const known = this.loaded.get(ref.version);
    if (known !== undefined) {
      if (known.sha256 !== ref.sha256) {
        throw new IntegrityError(
          `sessions cite catalog ${ref.version} with two different SHA-256 digests; no bundle was made`,
        );
      }
      known.sessions.add(sessionId);
      return known.catalog;
    }
    const bytes = await this.archive.get(ref.version);
    if (bytes === undefined) {
      throw new IntegrityError(
        `catalog ${ref.version} is cited by a session but is not in the catalog archive`,
      );
    }
    if (sha256Hex(bytes) !== ref.sha256) {
      throw new IntegrityError(
        `the archived catalog ${ref.version} does not hash to the digest its sessions record: it was altered`,
      );
    }
    let catalog: Catalog;
    try {
      catalog = parseCatalogSnapshot(bytes);
    } catch (error) {
      throw new IntegrityError(`the archived catalog ${ref.version} cannot be read`, { cause: error });
    }
    if (catalog.version !== ref.version) {
      throw new IntegrityError(`the archived catalog ${ref.version} holds version ${catalog.version}`);
    }
    this.loaded.set(ref.version, { catalog, bytes, sha256: ref.sha256, sessions: new Set([sessionId]) });
    return catalog;
  }

  entries(): { version: string; sha256: string; sessions: number; bytes: Uint8Array }[] {
    return [...this.loaded.entries()]
      .map(([version, v]) => ({ version, sha256: v.sha256, sessions: v.sessions.size, bytes: v.bytes }))
      .sort((a, b) => a.version.localeCompare(b.version));
  }
}

interface ScanState {
  first: ChainEntry | undefined;
  last: ChainEntry | undefined;
  count: number;
  /** Policy changes in the range, in chain order, with the difference each made. */
  readonly changes: PolicyChangeView[];
  readonly summaries: Map<string, SessionSummary>;
  readonly approvals: ApprovalLines;
  readonly results: { verified: number; missing: number; mismatched: number };
}

/** Stored results fetched and hashed at once while a bundle is built. */
const RESULT_CHECKS_IN_FLIGHT = 8;

async function checkResult(objects: ObjectStore, record: SessionRecord, state: ScanState): Promise<void> {
  const stored = record.result;
  if (stored === null) return;
  const bytes = await objects.get(stored.object.key);
  if (bytes === undefined) state.results.missing += 1;
  else if (sha256Hex(bytes) !== stored.object.sha256) state.results.mismatched += 1;
  else state.results.verified += 1;
}

/** The range's chain entries as sessions.jsonl lines, checked link by link while they stream out. */
async function* sessionLines(
  deps: BundleDeps,
  from: Date,
  to: Date,
  state: ScanState,
  policies: PolicyCache,
  catalogs: CatalogCache,
): AsyncGenerator<Uint8Array> {
  const fromIso = from.toISOString();
  const toIso = to.toISOString();
  const lastDay = new Date(to.getTime() - 1).toISOString().slice(0, 10);
  const pending: string[] = [];
  let pendingChars = 0;
  const checks = new BoundedTasks(RESULT_CHECKS_IN_FLIGHT);
  for await (const entry of deps.sessions.entries(fromIso.slice(0, 10), lastDay)) {
    if (entry.recordedAt < fromIso) continue;
    if (entry.recordedAt >= toIso) break;
    const previous = state.last;
    if (
      entryDigest(entry) !== entry.digest ||
      (previous !== undefined && (entry.seq !== previous.seq + 1 || entry.prev !== previous.digest))
    ) {
      throw new IntegrityError(`the session chain does not verify at entry ${entry.seq}; no bundle was made`);
    }
    state.count += 1;
    if (state.count > MAX_BUNDLE_ENTRIES) {
      throw new BadRequestError(
        "range_too_large",
        `the range holds more than ${MAX_BUNDLE_ENTRIES} chain entries; narrow it`,
      );
    }
    state.first ??= entry;
    state.last = entry;
    const line = `${JSON.stringify(entry)}\n`;
    pending.push(line);
    pendingChars += line.length;
    if (entry.record.schema === POLICY_CHANGE_SCHEMA) {
      const change = policyChangeRecordSchema.safeParse(entry.record);
      if (!change.success) {
        throw new IntegrityError(
          `chain entry ${entry.seq} holds an invalid policy change; no bundle was made`,
        );
      }
      const { from, to, by } = change.data;
      const after = await policies.cite(to.digest, to.name, undefined);
      const before = from === null ? undefined : await policies.cite(from.digest, from.name, undefined);
      state.changes.push({
        seq: entry.seq,
        recordedAt: entry.recordedAt,
        from,
        to,
        by,
        differences: before === undefined ? undefined : diffPolicies(before.document, after.document),
      });
    } else {
      const parsed = sessionRecordSchema.safeParse(entry.record);
      if (!parsed.success) {
        throw new IntegrityError(
          `chain entry ${entry.seq} holds an invalid session record; no bundle was made`,
        );
      }
      await recordSession(deps, entry.seq, parsed.data, state, policies, catalogs, checks);
    }
    if (pendingChars >= WRITE_CHUNK_CHARS) {
      yield Buffer.from(pending.join(""), "utf8");
      pending.length = 0;
      pendingChars = 0;
    }
  }
  if (pending.length > 0) yield Buffer.from(pending.join(""), "utf8");
  await checks.drain();
}

/**
 * Cites a session version's policy and catalog, collects its approvals, queues the re-hash of its result and assesses
 * it.
 */
async function recordSession(
  deps: BundleDeps,
  seq: number,
  record: SessionRecord,
  state: ScanState,
  policies: PolicyCache,
  catalogs: CatalogCache,
  checks: BoundedTasks,
): Promise<void> {
  const policy = await policies.cite(
    record.decision.policy.digest,
    record.decision.policy.name,
    record.sessionId,
  );
  const cited = record.analysis?.catalog ?? null;
  const catalog = cited === null ? undefined : await catalogs.cite(cited, record.sessionId);
  state.approvals.add(seq, record);
  // Results are fetched and hashed a few at a time while the scan goes on (one by one, a day of exports would not
  // fit a function's time); every check finishes before the counts are read.
  if (record.status === "completed") await checks.run(() => checkResult(deps.objects, record, state));
  const assessment = await assessSession(record, policy, catalog);
  state.summaries.set(record.sessionId, summarize(seq, record, assessment));
}

function statusCounts(summaries: Iterable<SessionSummary>): Manifest["counts"]["statuses"] {
  const counts: Record<string, number> = {};
  for (const s of summaries) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return counts as Manifest["counts"]["statuses"];
}

async function writeAll(
  deps: BundleDeps,
  sink: BundleSink,
  bundleId: string,
  from: Date,
  to: Date,
  options: BundleOptions,
): Promise<{ manifest: Manifest }> {
  const state: ScanState = {
    first: undefined,
    last: undefined,
    count: 0,
    changes: [],
    summaries: new Map(),
    approvals: new ApprovalLines(),
    results: { verified: 0, missing: 0, mismatched: 0 },
  };
  const policies = new PolicyCache(deps.policies);
  const catalogs = new CatalogCache(deps.catalogs);
  const files: WrittenFile[] = [];
  files.push(
    await sink.write(BUNDLE_FILES.sessions, sessionLines(deps, from, to, state, policies, catalogs)),
  );
  files.push(await sink.write(BUNDLE_FILES.approvals, Buffer.from(state.approvals.text(), "utf8")));
  const cited = policies.entries();
  for (const p of cited) files.push(await sink.write(policyPath(p.digest), Buffer.from(p.text, "utf8")));
  const snapshots = catalogs.entries();
  for (const c of snapshots) files.push(await sink.write(catalogPath(c.version), c.bytes));
  const logSection =
    deps.log === undefined || state.first === undefined || state.last === undefined
      ? undefined
      : await writeLogSection(deps.log, sink, state.first.seq - 1, state.last.seq, options.previousSize);
  if (logSection !== undefined) files.push(...logSection.files);
  const key = await deps.signer.publicKey();
  files.push(await sink.write(BUNDLE_FILES.publicKey, Buffer.from(key.pem, "utf8")));
  const summaries = [...state.summaries.values()].sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || a.sessionId.localeCompare(b.sessionId),
  );
  const partial: Omit<Manifest, "files"> = {
    schema: BUNDLE_SCHEMA,
    bundleId,
    createdAt: deps.clock.now().toISOString(),
    generator: GENERATOR,
    range: { from: from.toISOString(), to: to.toISOString() },
    chain: {
      genesis: CHAIN_GENESIS,
      anchor: state.first?.prev ?? null,
      first: state.first === undefined ? null : { seq: state.first.seq, digest: state.first.digest },
      last: state.last === undefined ? null : { seq: state.last.seq, digest: state.last.digest },
      entries: state.count,
    },
    counts: {
      entries: state.count,
      sessions: summaries.length,
      exports: summaries.filter((s) => s.status === "completed").length,
      approvals: state.approvals.lines.length,
      policies: cited.length,
      catalogs: snapshots.length,
      policyChanges: state.changes.length,
      statuses: statusCounts(summaries),
    },
    results: state.results,
    policies: cited.map((p) => ({
      digest: p.digest,
      name: p.name,
      path: policyPath(p.digest),
      sessions: p.sessions,
    })),
    policyChanges: state.changes.map(
      ({ seq, recordedAt, from, to, by }): ManifestPolicyChange => ({ seq, recordedAt, from, to, by }),
    ),
    analyzer: { version: ANALYZER_VERSION },
    catalogs: snapshots.map((c) => ({
      version: c.version,
      sha256: c.sha256,
      path: catalogPath(c.version),
      sessions: c.sessions,
    })),
    signing: {
      algorithm: key.algorithm,
      keyFingerprint: key.fingerprint,
      publicKey: BUNDLE_FILES.publicKey,
      signature: BUNDLE_FILES.signature,
    },
    ...(logSection === undefined ? {} : { log: logSection.manifest }),
  };
  const report = renderReport({
    manifest: partial,
    sessions: summaries,
    policyChanges: state.changes,
  });
  files.push(await sink.write(BUNDLE_FILES.report, Buffer.from(report, "utf8")));
  const manifest: Manifest = {
    ...partial,
    files: files
      .map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }))
      .sort((a, b) => a.path.localeCompare(b.path)),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, "utf8");
  const signature = await deps.signer.signDigest(createHash("sha256").update(manifestBytes).digest());
  await sink.write(BUNDLE_FILES.manifest, manifestBytes);
  await sink.write(BUNDLE_FILES.signature, signature);
  return { manifest };
}

/**
 * Builds, signs and seals the bundle of chain entries recorded in [from, to). Refuses (nothing is sealed) when
 * the chain does not verify, or a cited policy or catalog snapshot is not archived with its exact bytes;
 * compliance findings (an export not granted, unmasked, unreviewed, or treated otherwise when re-analyzed) are
 * evidence and go into the bundle.
 */
export async function buildEvidenceBundle(
  deps: BundleDeps,
  from: Date,
  to: Date,
  options: BundleOptions = {},
): Promise<BuiltBundle> {
  checkRange(from, to, deps.clock.now());
  const settle = to.getTime() + SETTLE_MS - deps.clock.now().getTime();
  if (settle > 0) await new Promise((resolve) => setTimeout(resolve, settle));
  const bundleId = options.bundleId ?? newOpaqueId("evb");
  const sink = await deps.evidence.open(bundleId);
  try {
    const { manifest } = await writeAll(deps, sink, bundleId, from, to, options);
    const location = await sink.seal();
    return { bundleId, location, manifest };
  } catch (error) {
    await sink.discard().catch(() => undefined);
    const level = error instanceof PhigateError && error.status < 500 ? "warn" : "error";
    deps.logger[level]("evidence bundle not made", { bundleId, ...errorFields(error) });
    if (error instanceof PhigateError) throw error;
    throw new UnavailableError("store_unavailable", "the evidence bundle could not be built", {
      cause: error,
    });
  }
}
