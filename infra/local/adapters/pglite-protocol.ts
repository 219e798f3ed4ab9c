// Messages between the PGlite executor (main thread) and its worker thread, validated on both sides.

import * as z from "zod";

const param = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const sqlParam = z.union([param, z.array(param)]);

/** Main thread → worker. */
export const toWorkerSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("execute"),
    id: z.number(),
    sql: z.string(),
    params: z.array(sqlParam),
    maxRows: z.number().int().nonnegative(),
    pageSize: z.number().int().positive(),
    /** Transaction-local planner settings (`enable_hashjoin` / `enable_mergejoin` off), names from a fixed list. */
    settings: z
      .array(z.tuple([z.enum(["enable_hashjoin", "enable_mergejoin"]), z.literal("off")]))
      .optional(),
  }),
  /** Credit for one more page of the running execution (flow control). */
  z.object({ type: z.literal("ack"), id: z.number() }),
  /**
   * Ends the running execution early (its result already failed on the main thread): the worker fetches no more,
   * ends the statement as it ends any other and answers `cancelled`, so the worker is kept rather than restarted.
   */
  z.object({ type: z.literal("cancel"), id: z.number() }),
  /**
   * A read-only query whose whole (small) result is returned: catalog, EXPLAIN. `before`: the executor's own
   * statements run first in the same transaction (an estimate's SET LOCAL and PREPARE).
   */
  z.object({
    type: z.literal("query"),
    id: z.number(),
    sql: z.string(),
    params: z.array(sqlParam),
    before: z.array(z.string()).optional(),
  }),
  /** A read-write script for administration only (seeding at start-up), never reachable from a request. */
  z.object({ type: z.literal("admin"), id: z.number(), sql: z.string(), params: z.array(sqlParam) }),
]);

/** Main thread → worker. */
export type ToWorker = z.infer<typeof toWorkerSchema>;

/**
 * Main thread → a worker that has loaded its code: the first message, which lets it open the database (not in
 * {@link toWorkerSchema}: it is read before the worker serves anything, and carries a module zod cannot check).
 */
export interface OpenMessage {
  readonly type: "open";
  /**
   * PGlite's WebAssembly as an earlier worker compiled it (code only: every worker instantiates its own memory).
   * Without it the worker compiles `pglite.wasm` itself.
   */
  readonly wasmModule?: WebAssembly.Module;
}

/** A result column as the worker reports it. */
export interface WorkerField {
  readonly name: string;
  readonly typeOid: number;
}

/** Worker → main thread. */
export type FromWorker =
  | {
      type: "ready";
      startMs: number;
      /** Whether the worker was given PGlite's module or compiled it; a module it compiled is handed back. */
      wasm: "given" | "compiled";
      wasmModule?: WebAssembly.Module;
    }
  | { type: "columns"; id: number; fields: WorkerField[] }
  | { type: "rows"; id: number; rows: (string | null)[][] }
  | { type: "done"; id: number; rowCount: number; truncated: boolean }
  | { type: "cancelled"; id: number }
  | { type: "result"; id: number; fields: WorkerField[]; rows: (string | null)[][] }
  | {
      type: "failed";
      id: number;
      sqlstate: string | null;
      /** A parameter of a statement the executor prepared that PostgreSQL could not type (42P18, 42P08). */
      parameterType?: { kind: "untyped" | "inconsistent"; parameter: number };
    }
  | { type: "fatal"; message: string };

/** Parameters as the worker protocol carries them (mutable copies). */
export type WorkerParams = Extract<ToWorker, { type: "execute" }>["params"];

/** Copies readonly statement parameters into the protocol's shape. */
export function toWorkerParams(
  params: readonly (string | number | boolean | null | readonly (string | number | boolean | null)[])[],
): WorkerParams {
  return params.map((p) => (Array.isArray(p) ? [...p] : p)) as WorkerParams;
}
