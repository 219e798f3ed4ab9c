// SessionStore on local files: an append-only, fsync'd journal of chain entries, one file per UTC day.

import { once } from "node:events";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, readdir, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { syncDirectory } from "#infra/local/adapters/atomic-file.ts";
import { UnavailableError, VersionConflictError } from "#shared/errors.ts";
import type { Logger } from "#shared/log.ts";
import {
  type ChainEntry,
  type Clock,
  type IdempotencyRef,
  type SessionEntry,
  type SessionStore,
  systemClock,
} from "#shared/ports.ts";
import { CHAIN_GENESIS, entryDigest, linkEntry } from "#shared/sessions/chain.ts";
import {
  type ChainRecord,
  isPolicyChange,
  type PolicyChangeRecord,
  type PolicyChanger,
  type PolicyRef,
  policyChange,
  policyChangeRecordSchema,
} from "#shared/sessions/policy-change.ts";
import { type SessionRecord, sessionRecordSchema } from "#shared/sessions/record.ts";

const FILE_PATTERN = /^journal-(\d{4}-\d{2}-\d{2})\.jsonl$/;

interface Located {
  readonly day: string;
  readonly offset: number;
  readonly length: number;
  readonly version: number;
  /** The latest version's status, and whether the session waits on an approval workflow (which owns it). */
  readonly status: SessionRecord["status"];
  readonly approval: boolean;
}

interface PendingLine {
  readonly day: string;
  readonly text: string;
  /** Undefined for a policy change (it is not a session's version). */
  readonly sessionId: string | undefined;
  readonly version: number;
  readonly status: SessionRecord["status"];
  readonly approval: boolean;
}

type Operation =
  | { kind: "create"; record: SessionRecord; idempotency: IdempotencyRef | undefined }
  | { kind: "update"; record: SessionRecord }
  | { kind: "policy"; record: PolicyChangeRecord };

type PolicyOperation = Extract<Operation, { kind: "policy" }>;
type SessionOperation = Exclude<Operation, { kind: "policy" }>;

interface Pending {
  readonly op: Operation;
  /** `record` is undefined for a policy change that changed nothing. */
  resolve(result: { created: boolean; record: ChainRecord | undefined }): void;
  reject(error: unknown): void;
}

/** One group of writes being committed: what it stages before the append makes it durable and visible. */
interface Staging {
  /** Where each session written in the group will have its latest version (offsets known after the append). */
  readonly staged: Map<string, Located>;
  /** Idempotency keys of the group's creates → their session ids. */
  readonly idempotency: Map<string, string>;
  readonly accepted: { pending: Pending; entry: ChainEntry; created: boolean }[];
  readonly lines: PendingLine[];
  head: Pick<ChainEntry, "seq" | "digest" | "recordedAt"> | undefined;
  policy: PolicyRef | undefined;
}

/** Where the journal lives and how it behaves. */
export interface FileSessionStoreOptions {
  readonly directory: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Receives each group of entries, in chain order, once durable and before any of them is acknowledged. */
  readonly onDurable?: (entries: readonly ChainEntry[]) => void;
}

/** The journal could not be opened because a complete entry in it does not verify. */
export class JournalCorruptError extends Error {
  override readonly name = "JournalCorruptError";
}

function idempotencyIndexKey(ref: IdempotencyRef): string {
  return `${ref.scope}\u0000${ref.key}`;
}

/**
 * A `SessionStore` whose every write is one line in `journal-<day>.jsonl`, written and fdatasync'd before the
 * write resolves. Concurrent writes are serialized by one writer and committed in groups (one fsync per group).
 * Opening verifies the whole chain; a torn final line (a write that never completed, so was never
 * acknowledged) is cut off, any other damage refuses to open.
 */
export class FileSessionStore implements SessionStore {
  private readonly index = new Map<string, Located>();
  private readonly idempotency = new Map<string, string>();
  private readonly queue: Pending[] = [];
  private readonly clock: Clock;
  private head: Pick<ChainEntry, "seq" | "digest" | "recordedAt"> | undefined;
  /** The policy the last policy-change entry puts in force. */
  private policy: PolicyRef | undefined;
  private handle: { day: string; file: FileHandle; size: number } | undefined;
  /** The running flush (it drains the queue, including writes enqueued meanwhile). */
  private flushing: Promise<void> | undefined;
  private broken: unknown;

  private constructor(
    private readonly options: FileSessionStoreOptions,
    clock: Clock,
  ) {
    this.clock = clock;
  }

  /** Opens (creating if needed) the journal in `directory`, verifying and indexing every entry. */
  static async open(options: FileSessionStoreOptions): Promise<FileSessionStore> {
    const store = new FileSessionStore(options, options.clock ?? systemClock);
    await mkdir(options.directory, { recursive: true, mode: 0o700 });
    await store.load();
    return store;
  }

  /** Number of chain entries and the head digest (for start-up banners and tests). */
  get chainHead(): { seq: number; digest: string } {
    return { seq: this.head?.seq ?? 0, digest: this.head?.digest ?? CHAIN_GENESIS };
  }

  async create(
    record: SessionRecord,
    idempotency?: IdempotencyRef,
  ): Promise<{ created: boolean; record: SessionRecord }> {
    const result = await this.enqueue({ kind: "create", record, idempotency });
    return result as { created: boolean; record: SessionRecord };
  }

  async update(record: SessionRecord): Promise<SessionRecord> {
    return (await this.enqueue({ kind: "update", record })).record as SessionRecord;
  }

  async recordPolicy(
    policy: PolicyRef,
    by: PolicyChanger,
    archived?: Promise<unknown>,
  ): Promise<PolicyChangeRecord | undefined> {
    await archived;
    const record = policyChangeRecordSchema.parse(policyChange(null, policy, by));
    return (await this.enqueue({ kind: "policy", record })).record as PolicyChangeRecord | undefined;
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const located = this.index.get(sessionId);
    if (located === undefined) return undefined;
    return (await this.readAt(located)).record;
  }

  async *entries(fromDay: string, toDay: string): AsyncIterable<ChainEntry> {
    for (const day of await this.days()) {
      if (day < fromDay || day > toDay) continue;
      for await (const { entry } of this.scan(day)) {
        if (entry !== undefined) yield entry;
      }
    }
  }

  /**
   * Sessions left `running` without an approval workflow: their request was in flight when the process stopped,
   * so no caller received their data. The host marks them failed at start.
   */
  interrupted(): string[] {
    return [...this.index].filter(([, l]) => l.status === "running" && !l.approval).map(([id]) => id);
  }

  /** Closes the journal file; pending writes are completed first. */
  async close(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing.catch(() => undefined);
    await this.handle?.file.close();
    this.handle = undefined;
  }

  private enqueue(op: Operation): Promise<{ created: boolean; record: ChainRecord | undefined }> {
    if (this.broken !== undefined) {
      return Promise.reject(
        new UnavailableError("store_unavailable", "the session store is unavailable", { cause: this.broken }),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.queue.length);
        await this.commit(batch);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    if (this.broken !== undefined) {
      const failure = new UnavailableError("store_unavailable", "the session store is unavailable", {
        cause: this.broken,
      });
      for (const pending of batch) pending.reject(failure);
      return;
    }
    const stage: Staging = {
      staged: new Map(),
      idempotency: new Map(),
      accepted: [],
      lines: [],
      head: this.head,
      policy: this.policy,
    };
    for (const pending of batch) {
      const { op } = pending;
      if (op.kind === "policy") this.stagePolicy(stage, pending, op);
      else if (this.admits(stage, pending, op)) this.stageSession(stage, pending, op);
    }
    if (stage.accepted.length === 0) return;
    await this.persist(stage);
  }

  /** Stages a policy change, or answers it at once when that policy is already in force. */
  private stagePolicy(stage: Staging, pending: Pending, op: PolicyOperation): void {
    if (stage.policy?.digest === op.record.to.digest) {
      pending.resolve({ created: false, record: undefined });
      return;
    }
    const entry = linkEntry(stage.head, this.recordedAt(stage.head), {
      ...op.record,
      from: stage.policy ?? null,
    });
    stage.head = entry;
    stage.policy = op.record.to;
    stage.lines.push({
      day: entry.day,
      text: `${JSON.stringify(entry)}\n`,
      sessionId: undefined,
      version: 0,
      status: "completed",
      approval: false,
    });
    stage.accepted.push({ pending, entry, created: true });
  }

  /**
   * Whether a session write may be staged: a create is new at version 1, an update the next version. When not,
   * `pending` is answered here (a conflict, or the session an earlier create with the same idempotency key made).
   */
  private admits(stage: Staging, pending: Pending, op: SessionOperation): boolean {
    const current = stage.staged.get(op.record.sessionId) ?? this.index.get(op.record.sessionId);
    if (op.kind === "update") {
      if (current !== undefined && current.version + 1 === op.record.version) return true;
      pending.reject(new VersionConflictError("the session was changed concurrently"));
      return false;
    }
    const key = op.idempotency === undefined ? undefined : idempotencyIndexKey(op.idempotency);
    const existingId =
      key === undefined ? undefined : (stage.idempotency.get(key) ?? this.idempotency.get(key));
    if (existingId !== undefined) {
      this.answerRepeat(stage, pending, existingId);
      return false;
    }
    if (current === undefined && op.record.version === 1) return true;
    pending.reject(new VersionConflictError("the session already exists"));
    return false;
  }

  /** Answers a repeated create with the session the first one made (staged in this batch, or stored). */
  private answerRepeat(stage: Staging, pending: Pending, existingId: string): void {
    const stagedEntry = stage.accepted.find(
      (a) => !isPolicyChange(a.entry.record) && a.entry.record.sessionId === existingId,
    );
    if (stagedEntry !== undefined) pending.resolve({ created: false, record: stagedEntry.entry.record });
    else
      this.get(existingId).then(
        (r) => pending.resolve({ created: false, record: r as SessionRecord }),
        pending.reject,
      );
  }

  /** Stages an admitted session write: its chain entry, its line, and where the session's latest version will be. */
  private stageSession(stage: Staging, pending: Pending, op: SessionOperation): void {
    const entry = linkEntry(stage.head, this.recordedAt(stage.head), op.record);
    stage.head = entry;
    const text = `${JSON.stringify(entry)}\n`;
    const facts = { status: op.record.status, approval: op.record.approval !== null };
    stage.lines.push({
      day: entry.day,
      text,
      sessionId: op.record.sessionId,
      version: op.record.version,
      ...facts,
    });
    stage.staged.set(op.record.sessionId, {
      day: entry.day,
      offset: -1,
      length: 0,
      version: op.record.version,
      ...facts,
    });
    if (op.kind === "create" && op.idempotency !== undefined) {
      stage.idempotency.set(idempotencyIndexKey(op.idempotency), op.record.sessionId);
    }
    stage.accepted.push({ pending, entry, created: op.kind === "create" });
  }

  /**
   * Appends the staged lines durably, then makes them visible (index, idempotency keys, head, policy) and
   * acknowledges them; a failed append rejects every staged write and changes nothing.
   */
  private async persist(stage: Staging): Promise<void> {
    let locations: Map<string, Located>;
    try {
      locations = await this.append(stage.lines);
    } catch (error) {
      this.options.logger?.error("session journal write failed", { entries: stage.accepted.length });
      const failure = new UnavailableError("store_unavailable", "the session store is unavailable", {
        cause: error,
      });
      for (const a of stage.accepted) a.pending.reject(failure);
      return;
    }
    for (const [id, located] of locations) this.index.set(id, located);
    for (const [key, id] of stage.idempotency) this.idempotency.set(key, id);
    this.head = stage.head;
    this.policy = stage.policy;
    this.options.onDurable?.(stage.accepted.map((a) => a.entry));
    for (const a of stage.accepted) a.pending.resolve({ created: a.created, record: a.entry.record });
  }

  /** The time of a new entry: now, or the head's time when the clock went back (`recordedAt` never decreases). */
  private recordedAt(head: Pick<ChainEntry, "recordedAt"> | undefined): Date {
    const now = this.clock.now();
    return head !== undefined && now.toISOString() < head.recordedAt ? new Date(head.recordedAt) : now;
  }

  /**
   * Appends lines (grouped by day, one write and fdatasync per day) and returns where they landed. On any failure
   * every file the batch wrote to is cut back to its length before the batch, so no line of an unacknowledged
   * batch survives (a batch spanning midnight may have completed its first day already).
   */
  private async append(lines: PendingLine[]): Promise<Map<string, Located>> {
    const locations = new Map<string, Located>();
    const written: { day: string; start: number }[] = [];
    try {
      let i = 0;
      while (i < lines.length) {
        const day = (lines[i] as (typeof lines)[number]).day;
        const group: typeof lines = [];
        while (i < lines.length && (lines[i] as (typeof lines)[number]).day === day)
          group.push(lines[i++] as (typeof lines)[number]);
        const handle = await this.fileFor(day);
        const start = handle.size;
        written.push({ day, start });
        const buffer = Buffer.from(group.map((l) => l.text).join(""), "utf8");
        await handle.file.write(buffer, 0, buffer.length, start);
        await handle.file.datasync();
        let offset = start;
        for (const line of group) {
          const length = Buffer.byteLength(line.text, "utf8");
          if (line.sessionId !== undefined)
            locations.set(line.sessionId, {
              day,
              offset,
              length,
              version: line.version,
              status: line.status,
              approval: line.approval,
            });
          offset += length;
        }
        handle.size = offset;
      }
    } catch (error) {
      await this.undo(written);
      throw error;
    }
    return locations;
  }

  /** Cuts each written day file back to `start` (latest first); a journal that cannot be repaired breaks the store. */
  private async undo(written: readonly { day: string; start: number }[]): Promise<void> {
    // The open handle's size may count lines being cut: the next write reopens the file and reads its length.
    const current = this.handle;
    this.handle = undefined;
    await current?.file.close().catch(() => undefined);
    try {
      for (const { day, start } of [...written].reverse()) {
        const file = await open(join(this.options.directory, `journal-${day}.jsonl`), "r+");
        try {
          await file.truncate(start);
          await file.datasync();
        } finally {
          await file.close();
        }
      }
    } catch (repairError) {
      this.broken = repairError;
      this.options.logger?.error(
        "session journal could not be repaired after a failed write; refusing writes",
      );
    }
  }

  private async fileFor(day: string): Promise<{ day: string; file: FileHandle; size: number }> {
    if (this.handle?.day === day) return this.handle;
    await this.handle?.file.close();
    this.handle = undefined;
    const path = join(this.options.directory, `journal-${day}.jsonl`);
    const file = await open(path, "a+", 0o600);
    const size = (await file.stat()).size;
    await syncDirectory(this.options.directory);
    this.handle = { day, file, size };
    return this.handle;
  }

  private async readAt(located: Located): Promise<SessionEntry> {
    const path = join(this.options.directory, `journal-${located.day}.jsonl`);
    const file = await open(path, "r");
    try {
      const buffer = Buffer.alloc(located.length);
      await file.read(buffer, 0, located.length, located.offset);
      const parsed = JSON.parse(buffer.toString("utf8")) as SessionEntry;
      return { ...parsed, record: sessionRecordSchema.parse(parsed.record) };
    } catch (error) {
      throw new UnavailableError("store_unavailable", "the session store could not read a record", {
        cause: error,
      });
    } finally {
      await file.close();
    }
  }

  private async days(): Promise<string[]> {
    const names = await readdir(this.options.directory);
    return names
      .map((n) => FILE_PATTERN.exec(n)?.[1])
      .filter((d): d is string => d !== undefined)
      .sort();
  }

  private async *scan(
    day: string,
  ): AsyncGenerator<{ entry: ChainEntry | undefined; offset: number; length: number; torn: boolean }> {
    const path = join(this.options.directory, `journal-${day}.jsonl`);
    const size = (await stat(path)).size;
    const stream = createReadStream(path, { end: Math.max(0, size - 1) });
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    let offset = 0;
    try {
      if (size === 0) return;
      for await (const line of lines) {
        const length = Buffer.byteLength(line, "utf8") + 1;
        const complete = offset + length <= size;
        let entry: ChainEntry | undefined;
        try {
          entry = JSON.parse(line) as ChainEntry;
        } catch {
          entry = undefined;
        }
        yield { entry, offset, length, torn: !complete };
        offset += length;
      }
    } finally {
      lines.close();
      if (!stream.closed) {
        const closed = once(stream, "close").catch(() => undefined);
        stream.destroy();
        await closed;
      }
    }
  }

  private async load(): Promise<void> {
    const days = await this.days();
    let head: ChainEntry | undefined;
    for (const [dayIndex, day] of days.entries()) {
      const lastFile = dayIndex === days.length - 1;
      const path = join(this.options.directory, `journal-${day}.jsonl`);
      let validLength = 0;
      let tornAt: number | undefined;
      for await (const { entry, offset, length, torn } of this.scan(day)) {
        if (entry === undefined || torn) {
          tornAt = offset;
          if (!lastFile) throw new JournalCorruptError(`session journal ${day} is damaged at byte ${offset}`);
          continue;
        }
        if (tornAt !== undefined) {
          throw new JournalCorruptError(
            `session journal ${day} is damaged at byte ${tornAt} (complete entries follow)`,
          );
        }
        const expectedPrev = head?.digest ?? CHAIN_GENESIS;
        const expectedSeq = (head?.seq ?? 0) + 1;
        if (entry.seq !== expectedSeq || entry.prev !== expectedPrev || entryDigest(entry) !== entry.digest) {
          throw new JournalCorruptError(
            `session journal ${day}: entry ${entry.seq} does not verify against the chain`,
          );
        }
        if (isPolicyChange(entry.record)) {
          const change = policyChangeRecordSchema.safeParse(entry.record);
          if (!change.success) {
            throw new JournalCorruptError(
              `session journal ${day}: entry ${entry.seq} is not a valid policy change`,
            );
          }
          this.policy = change.data.to;
          head = entry;
          validLength = offset + length;
          continue;
        }
        const record = entry.record;
        const known = this.index.get(record.sessionId);
        if (record.version !== (known?.version ?? 0) + 1) {
          throw new JournalCorruptError(
            `session journal ${day}: entry ${entry.seq} has an unexpected record version`,
          );
        }
        this.index.set(record.sessionId, {
          day,
          offset,
          length,
          version: record.version,
          status: record.status,
          approval: record.approval !== null,
        });
        if (record.version === 1 && record.request.idempotencyKey !== null) {
          this.idempotency.set(
            idempotencyIndexKey({ scope: record.principal.key, key: record.request.idempotencyKey }),
            record.sessionId,
          );
        }
        head = entry;
        validLength = offset + length;
      }
      if (tornAt !== undefined) {
        this.options.logger?.warn("cut a torn, never-acknowledged final journal entry", {
          day,
          byte: tornAt,
        });
        await truncate(path, validLength);
      }
    }
    if (head !== undefined) this.head = { seq: head.seq, digest: head.digest, recordedAt: head.recordedAt };
  }
}
