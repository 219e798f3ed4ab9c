// A DATA_DIR in a temp folder with the real local adapters, for building and tampering with evidence bundles.

import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileCatalogArchive } from "#infra/local/adapters/file-catalog-archive.ts";
import { FileCheckpointStore } from "#infra/local/adapters/file-checkpoint-store.ts";
import { FileEvidenceStore } from "#infra/local/adapters/file-evidence-store.ts";
import { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import { FilePolicyArchive } from "#infra/local/adapters/file-policy-archive.ts";
import { FileSessionStore } from "#infra/local/adapters/file-session-store.ts";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { type BuiltBundle, type BundleDeps, buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import { ALL_DAYS, createLogSequencer } from "#shared/log/open-log.ts";
import type { LogSequencer } from "#shared/log/sequencer.ts";
import { silentLogger } from "#shared/log.ts";
import { type Clock, systemClock } from "#shared/ports.ts";
import { type SessionRecord, transition } from "#shared/sessions/record.ts";
import { ANALYZER_VERSION } from "#shared/sql/analyzer-version.ts";
import { type CatalogRef, catalogSnapshot } from "#shared/sql/catalog-snapshot.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog } from "#shared/sql/types.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { sampleRecord } from "#test/support/records.ts";

/** A policy granting `tester` three columns of public.encounters, one of them masked; group auditors audit. */
export const TEST_POLICY = `version: 1
name: evidence-test
issuers:
  idp: https://idp.test/
principals:
  - id: reporter
    match:
      issuer: idp
      sub: tester
    grants:
      - tables: [public.encounters]
        columns: [id, department, diagnosis_code]
masking:
  rules:
    public.encounters.diagnosis_code: { strategy: redact }
roles:
  approvers:
    match:
      issuer: idp
      groups: [phi-approvers]
  auditors:
    match:
      issuer: idp
      groups: [auditors]
`;

/** The table the fixture's statements read, as the catalog its sessions were analyzed against. */
export const TEST_DDL =
  "CREATE TABLE public.encounters (id bigint, department text, diagnosis_code text, notes text);";

/** The fixture's catalog, versioned by a digest of its content as the gateway's catalog query versions it. */
export async function testCatalog(ddl = TEST_DDL): Promise<Catalog> {
  await loadSqlParser();
  const parsed = ddlCatalog(ddl);
  return { ...parsed, version: sha256Hex(JSON.stringify(parsed.relations)) };
}

const col = (column: string, clauses: string[] = ["output"]) => ({
  schema: "public",
  table: "encounters",
  column,
  clauses,
});
const source = (column: string) => ({ schema: "public", table: "encounters", column });

/** A clock that advances 10 ms per reading from a fixed past instant (so ranges never wait for `to`). */
export class SteppingClock implements Clock {
  private t: number;
  constructor(start: Date) {
    this.t = start.getTime();
  }
  now(): Date {
    this.t += 10;
    return new Date(this.t);
  }
}

/** The temp DATA_DIR and its adapters. */
export interface EvidenceFixture {
  readonly dir: string;
  readonly start: Date;
  readonly clock: SteppingClock;
  readonly sessions: FileSessionStore;
  readonly objects: FileObjectStore;
  readonly policies: FilePolicyArchive;
  readonly catalogs: FileCatalogArchive;
  /** The archived catalog every fixture session was analyzed against. */
  readonly catalog: CatalogRef;
  readonly signer: LocalSigner;
  /** The transparency log over the fixture's journal (its bundles carry a log section). */
  readonly log: LogSequencer;
  readonly evidence: FileEvidenceStore;
  readonly policyDigest: string;
  /** The builder's dependencies (with the system clock: the records are stamped in the past). */
  readonly deps: BundleDeps;
  /** Records a completed export of `columns` (default id, department) with a stored result. */
  completed(
    options?: {
      columns?: string[];
      masking?: ({ rule: string; strategy: string } | null)[];
      rows?: unknown[][];
      /** Columns whose recorded lineage claims a constant (what a faulty analyzer would record). */
      constant?: string[];
    },
    changes?: Partial<SessionRecord>,
  ): Promise<SessionRecord>;
  /** Records a session refused by the policy. */
  rejected(): Promise<SessionRecord>;
  /** Builds a bundle of everything recorded so far. */
  build(): Promise<BuiltBundle>;
  close(): Promise<void>;
}

/** Opens a fixture whose records are stamped an hour ago. */
export async function openEvidenceFixture(): Promise<EvidenceFixture> {
  const dir = await mkdtemp(join(tmpdir(), "phigate-evidence-"));
  const start = new Date(Date.now() - 3_600_000);
  const clock = new SteppingClock(start);
  const signer = await LocalSigner.open(join(dir, "keys"));
  const log = await createLogSequencer(
    signer,
    new FileCheckpointStore(join(dir, "log", "checkpoints")),
    undefined,
    5,
  );
  const sessions = await FileSessionStore.open({
    directory: join(dir, "sessions"),
    clock,
    onDurable: (entries) => log.accept(entries),
  });
  await log.start(sessions.entries(ALL_DAYS.from, ALL_DAYS.to));
  const objects = new FileObjectStore({
    directory: join(dir, "objects"),
    linkKey: new Uint8Array(32),
    baseUrl: () => "http://127.0.0.1:1",
    clock,
  });
  const policies = new FilePolicyArchive(join(dir, "policies"));
  const policyDigest = await policies.put(TEST_POLICY);
  const catalogs = new FileCatalogArchive(join(dir, "catalogs"));
  const snapshot = catalogSnapshot(await testCatalog());
  await catalogs.put(snapshot.ref.version, snapshot.bytes);
  const evidence = new FileEvidenceStore(join(dir, "evidence"));
  const base = (): SessionRecord =>
    sampleRecord(
      {
        analysis: { analyzerVersion: ANALYZER_VERSION, catalog: snapshot.ref },
        decision: {
          outcome: "allow",
          reasons: ["granted to reporter"],
          rules: ["grants"],
          policy: { name: "evidence-test", digest: policyDigest },
          matchedPrincipal: "reporter",
          limits: { maxRows: 10, timeoutMs: 1000 },
          matchContext: { devIssuer: null },
        },
      },
      clock.now(),
    );
  const deps: BundleDeps = {
    sessions,
    objects,
    policies,
    catalogs,
    signer,
    evidence,
    clock: systemClock,
    logger: silentLogger,
    log,
  };
  return {
    dir,
    deps,
    start,
    clock,
    sessions,
    objects,
    policies,
    catalogs,
    catalog: snapshot.ref,
    signer,
    log,
    evidence,
    policyDigest,
    async completed(options = {}, changes = {}) {
      const columns = options.columns ?? ["id", "department"];
      const first = base();
      const record: SessionRecord = {
        ...first,
        request: { ...first.request, sql: `SELECT ${columns.join(", ")} FROM encounters LIMIT 2` },
        // As the gateway records it: the PHI table whose columns reach the result (the read ledger's count).
        decision: columns.every((c) => options.constant?.includes(c) === true)
          ? first.decision
          : { ...first.decision, phiTables: ["public.encounters"] },
        classification: {
          ...first.classification,
          relations: [{ schema: "public", table: "encounters", kind: "table" }],
          columns: columns.map((c) => col(c)),
          exposures: [],
          wholeRowExposures: [],
          lookupValues: 0,
          outputs: columns.map((c, position) => {
            const constant = options.constant?.includes(c) === true;
            return {
              position,
              name: c,
              kind: constant ? ("constant" as const) : ("copy" as const),
              sources: constant ? [] : [source(c)],
              wholeRows: [],
              transforms: [],
            };
          }),
          limit: 2,
        },
        ...changes,
      };
      await sessions.create(record);
      const rows = options.rows ?? [[1, "cardiology"]];
      const body = Buffer.from(JSON.stringify({ columns, rows }));
      const object = await objects.put(`results/${record.sessionId}.json`, body, "application/json");
      const done = transition(record, "completed", clock.now(), {
        execution: {
          startedAt: clock.now().toISOString(),
          finishedAt: clock.now().toISOString(),
          durationMs: 3,
          rowCount: rows.length,
          truncated: false,
        },
        result: {
          columns: columns.map((name, i) => ({ name, type: "text", masking: options.masking?.[i] ?? null })),
          rowCount: rows.length,
          truncated: false,
          delivery: "inline",
          object,
        },
      });
      return sessions.update(done);
    },
    async rejected() {
      const first = base();
      const record: SessionRecord = {
        ...first,
        status: "rejected",
        completedAt: first.createdAt,
        transitions: [{ status: "rejected", at: first.createdAt }],
        decision: { ...first.decision, outcome: "deny", reasons: ["not granted"], rules: ["grants"] },
      };
      return (await sessions.create(record)).record;
    },
    async build() {
      return buildEvidenceBundle(
        deps,
        new Date(start.getTime() - 60_000),
        new Date(start.getTime() + 600_000),
      );
    },
    async close() {
      await log.close();
      await sessions.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Rewrites a (read-only) bundle file. */
export async function rewrite(path: string, change: (text: string) => string): Promise<void> {
  const text = await readFile(path, "utf8");
  await chmod(path, 0o600);
  await writeFile(path, change(text));
}

/** SHA-256 of a file's bytes (for re-listing a tampered file in a manifest). */
export async function fileDigest(path: string): Promise<{ sha256: string; size: number }> {
  const bytes = await readFile(path);
  return { sha256: sha256Hex(bytes), size: bytes.length };
}
