// The local runner's durable execution document: where an execution is, its data, its open task token and its timers.

import { access, mkdir, readdir, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod";
import { syncDirectory, writeFileAtomic } from "./atomic-file.ts";

/** Schema identifier of an execution document. */
export const EXECUTION_SCHEMA = "phigate.workflow-execution/v1";

const isoTime = z.iso.datetime();

/** A callback task's open token and timers, and the result someone sent for it (consumed by the interpreter). */
export const callbackSchema = z.object({
  token: z.string(),
  timeoutAt: isoTime,
  heartbeatSeconds: z.number().int().positive(),
  /** The last heartbeat (or the moment the task was entered). */
  heartbeatAt: isoTime,
  /** Whether the task's worker has returned (a crash before that re-invokes it with the same token). */
  workerDone: z.boolean(),
  result: z
    .discriminatedUnion("kind", [
      z.object({ kind: z.literal("success"), output: z.unknown() }),
      z.object({ kind: z.literal("failure"), error: z.string(), cause: z.string() }),
    ])
    .nullable(),
});

/** One execution of a workflow description, as persisted after every step. */
export const executionSchema = z.object({
  schema: z.literal(EXECUTION_SCHEMA),
  /** The execution name (the approval id): one execution per name. */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/),
  machine: z.string(),
  /** SHA-256 of the description the execution started under. */
  machineDigest: z.string(),
  status: z.enum(["running", "succeeded", "failed"]),
  startedAt: isoTime,
  stoppedAt: isoTime.nullable(),
  /** The execution's own limit (the description's `timeoutSeconds`). */
  deadlineAt: isoTime,
  state: z.string(),
  enteredAt: isoTime,
  data: z.record(z.string(), z.unknown()),
  /** Attempts of the current task so far. */
  attempt: z.number().int().nonnegative(),
  /** When the next retry of the current task is due. */
  retryAt: isoTime.nullable(),
  callback: callbackSchema.nullable(),
  /** When a wait state ends. */
  waitUntil: isoTime.nullable(),
  error: z.object({ error: z.string(), cause: z.string() }).nullable(),
  history: z.array(z.object({ state: z.string(), enteredAt: isoTime, leftAt: isoTime, outcome: z.string() })),
  /** +1 per persisted change. */
  revision: z.number().int().nonnegative(),
});

/** A persisted execution. */
export type Execution = z.infer<typeof executionSchema>;

/** The folder, under the executions directory, that stopped executions move to. */
export const STOPPED_FOLDER = "stopped";

/**
 * Stores executions as `<directory>/<name>.json`, each replaced atomically (fsync'd temp file + rename). A stopped
 * execution moves to `<directory>/stopped/<name>.json`, so a start reads and a runner keeps only the running ones,
 * however long the history.
 */
export class ExecutionFiles {
  private readonly stopped: string;

  constructor(private readonly directory: string) {
    this.stopped = join(directory, STOPPED_FOLDER);
  }

  /** Writes the execution's current content (callers serialize writes per execution). */
  async save(execution: Execution): Promise<void> {
    const valid = executionSchema.parse(execution);
    await writeFileAtomic(join(this.directory, `${valid.name}.json`), `${JSON.stringify(valid, null, 2)}\n`);
  }

  /** Moves a stopped execution's document to `stopped/` (atomic rename; both folders fsync'd). */
  async retire(name: string): Promise<void> {
    await mkdir(this.stopped, { recursive: true, mode: 0o700 });
    await rename(join(this.directory, `${name}.json`), join(this.stopped, `${name}.json`));
    await syncDirectory(this.stopped);
    await syncDirectory(this.directory);
  }

  /** Whether an execution of this name was ever started, running or stopped. */
  async exists(name: string): Promise<boolean> {
    // Running first: a retire in between moves the document from the first place to the second, never back.
    for (const path of [join(this.directory, `${name}.json`), join(this.stopped, `${name}.json`)]) {
      try {
        await access(path);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    return false;
  }

  /** Every execution not yet moved to `stopped/` (unreadable documents are reported, not fatal). */
  async loadAll(onInvalid: (name: string) => void): Promise<Execution[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const executions: Execution[] = [];
    for (const name of names.sort()) {
      if (!name.endsWith(".json")) continue;
      let value: unknown;
      try {
        value = JSON.parse(await readFile(join(this.directory, name), "utf8"));
      } catch {
        value = undefined;
      }
      const parsed = executionSchema.safeParse(value);
      if (parsed.success) executions.push(parsed.data);
      else onInvalid(name);
    }
    return executions;
  }
}
