// A small pool of libpg-query WebAssembly instances: parses synchronously and retires an instance a stack-exhausting statement may have damaged.

import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { ParseResult } from "@pgsql/types";
import createPgQueryModule, { type PgQueryWasmModule } from "libpg-query/wasm/libpg-query.js";

/** PostgreSQL's parser rejected the text (the instance is intact). */
export class PgSyntaxError extends Error {
  override readonly name = "PgSyntaxError";
  /** 1-based character (code point) position PostgreSQL reports, or 0 when it reports none. */
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.position = position;
  }
}

/** The parser failed in a way that is not a syntax error (stack exhausted, out of memory, no instance ready). */
export class PgParserFault extends Error {
  override readonly name = "PgParserFault";
  /** True when no healthy instance is ready yet (the input was not tried). */
  readonly restarting: boolean;
  constructor(message: string, options: { cause?: unknown; restarting?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.restarting = options.restarting ?? false;
  }
}

interface Instance {
  readonly module: PgQueryWasmModule;
  faults: number;
}

/**
 * Instances hold their shadow stack in linear memory; when V8's stack overflows inside the parser the
 * Emscripten stack pointer is not restored, so each such fault leaks stack (about 30 of them kill an
 * instance). The pool retires an instance at its first fault when a spare is ready and refills in the
 * background; without a spare it keeps the faulted instance for a few more faults (each leaves it usable).
 */
const SPARES = 2;
const MAX_FAULTS_BEFORE_REFUSING = 8;

let active: Instance | undefined;
const spares: Instance[] = [];
let pending = 0;
let first: Promise<void> | undefined;
let loading: Promise<void> | undefined;
/** Set by {@link loadPgWasm}: parses keep spares (the scanner alone, for highlighting, does not). */
let withSpares = false;

let compiled: Promise<WebAssembly.Module> | undefined;

/** The performance-timeline mark set when the first instance is ready, so parses can run (the bench reads it). */
export const PARSER_READY_MARK = "phigate:parser-ready";

/** The parser's WASM file: beside this module in a Lambda bundle, else in the package. */
function wasmPath(): string {
  const beside = fileURLToPath(new URL("libpg-query.wasm", import.meta.url));
  return existsSync(beside)
    ? beside
    : createRequire(import.meta.url).resolve("libpg-query/wasm/libpg-query.wasm");
}

/** The WASM compiled once per process (every instance is made from it); a failed compile is tried again. */
function compiledWasm(): Promise<WebAssembly.Module> {
  compiled ??= readFile(wasmPath())
    .then((bytes) => WebAssembly.compile(bytes))
    .catch((error: unknown) => {
      compiled = undefined;
      throw error;
    });
  return compiled;
}

/**
 * Starts compiling the WASM now, reading the file synchronously: called at the top of a Lambda bundle, before the
 * rest of it evaluates, V8 compiles off the main thread meanwhile and the first instance waits less. Does nothing
 * when a compile is under way or done; a failure is left to the load that awaits it (which tries again).
 */
export function compilePgWasmEarly(): void {
  if (compiled !== undefined) return;
  let bytes: Buffer;
  try {
    bytes = readFileSync(wasmPath());
  } catch {
    return;
  }
  const early = WebAssembly.compile(bytes).catch((error: unknown) => {
    compiled = undefined;
    throw error;
  });
  early.catch(() => {});
  compiled = early;
}

async function createInstance(): Promise<Instance> {
  const wasm = await compiledWasm();
  const module = await new Promise<PgQueryWasmModule>((resolve, reject) => {
    const instantiateWasm = (
      imports: WebAssembly.Imports,
      receive: (instance: WebAssembly.Instance) => void,
    ) => {
      WebAssembly.instantiate(wasm, imports).then(receive, reject);
      return {};
    };
    createPgQueryModule({ instantiateWasm }).then(resolve, reject);
  });
  return { module, faults: 0 };
}

function refill(): void {
  while (spares.length + pending < SPARES) {
    pending += 1;
    createInstance().then(
      (instance) => {
        pending -= 1;
        spares.push(instance);
      },
      () => {
        pending -= 1;
      },
    );
  }
}

/** Loads the active instance; a failed load is tried again by the next call. */
function loadFirst(): Promise<void> {
  first ??= createInstance().then(
    (instance) => {
      active ??= instance;
      performance.mark(PARSER_READY_MARK);
    },
    (error: unknown) => {
      first = undefined;
      throw error;
    },
  );
  return first;
}

/**
 * Loads the first instance; its spares are started by the first parse, in the background. A parse needs one
 * instance and the spares only replace one a fault damaged (until they are ready a faulted instance stays in use,
 * as after any fault), so a cold start waits for one instantiation instead of three competing ones. Idempotent,
 * and tried again after a failure.
 */
export function loadPgWasm(): Promise<void> {
  withSpares = true;
  loading ??= loadFirst().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/**
 * Loads only the first instance, enough for {@link pgScan} (the approval page highlights SQL but never parses);
 * {@link loadPgWasm} reuses it. Idempotent, and tried again after a failure.
 */
export function loadPgScanner(): Promise<void> {
  return loadFirst();
}

/** True once {@link loadPgWasm} has completed. */
export function isPgWasmLoaded(): boolean {
  return active !== undefined;
}

function retireAfterFault(instance: Instance): void {
  instance.faults += 1;
  const spare = spares.shift();
  if (spare !== undefined) active = spare;
  refill();
}

/** Runs `use` on the active instance, retiring it after a fault that isn't a syntax error. */
function withInstance<T>(use: (wasm: PgQueryWasmModule) => T): T {
  if (withSpares) refill();
  const instance = active;
  if (instance === undefined) throw new PgParserFault("the SQL parser is not loaded");
  if (instance.faults >= MAX_FAULTS_BEFORE_REFUSING) {
    const spare = spares.shift();
    if (spare === undefined) {
      refill();
      throw new PgParserFault("the SQL parser is restarting", { restarting: true });
    }
    active = spare;
    refill();
    return withInstance(use);
  }
  try {
    return use(instance.module);
  } catch (error) {
    if (error instanceof PgSyntaxError) throw error;
    retireAfterFault(instance);
    throw new PgParserFault("the SQL parser failed", { cause: error });
  }
}

/**
 * Parses `sql` with PostgreSQL's raw parser. Throws {@link PgSyntaxError} for text PostgreSQL rejects and
 * {@link PgParserFault} for anything else. `sql` must be non-empty and contain no NUL character.
 */
export function pgParse(sql: string): ParseResult {
  return withInstance((wasm) => parseWith(wasm, sql));
}

/** One token of PostgreSQL's scanner; `start` and `end` (exclusive) are byte offsets into the UTF-8 text. */
export interface PgScanToken {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly tokenType: number;
  readonly tokenName: string;
  readonly keywordKind: number;
  readonly keywordName: string;
}

/**
 * The tokens of `sql` by PostgreSQL's own scanner (literals, quoted identifiers and comments are single tokens),
 * on the pool's instances (load with {@link loadPgScanner} or {@link loadPgWasm}). Throws {@link PgSyntaxError} for
 * text the scanner rejects (empty text too) and {@link PgParserFault} for anything else.
 */
export function pgScan(sql: string): PgScanToken[] {
  return withInstance((wasm) => scanWith(wasm, sql));
}

/** Copies `sql` into the instance's memory as a C string for `use`, and frees it afterwards. */
function withCString<T>(wasm: PgQueryWasmModule, sql: string, use: (pointer: number) => T): T {
  const size = wasm.lengthBytesUTF8(sql) + 1;
  const pointer = wasm._malloc(size);
  if (pointer === 0) throw new PgParserFault("out of parser memory");
  try {
    wasm.stringToUTF8(sql, pointer, size);
    return use(pointer);
  } finally {
    wasm._free(pointer);
  }
}

function scanWith(wasm: PgQueryWasmModule, sql: string): PgScanToken[] {
  return withCString(wasm, sql, (queryPointer) => {
    const resultPointer = wasm._wasm_scan(queryPointer);
    if (resultPointer === 0) throw new PgParserFault("out of parser memory");
    try {
      // The tokens as a JSON object, else the scanner's message (empty text, an unterminated literal or comment).
      const text = wasm.UTF8ToString(resultPointer);
      if (!text.startsWith("{")) throw new PgSyntaxError(text, 0);
      return (JSON.parse(text) as { tokens?: PgScanToken[] }).tokens ?? [];
    } finally {
      wasm._wasm_free_string(resultPointer);
    }
  });
}

function parseWith(wasm: PgQueryWasmModule, sql: string): ParseResult {
  return withCString(wasm, sql, (queryPointer) => {
    const resultPointer = wasm._wasm_parse_query_raw(queryPointer);
    if (resultPointer === 0) throw new PgParserFault("out of parser memory");
    try {
      const treePointer = wasm.getValue(resultPointer, "i32");
      const errorPointer = wasm.getValue(resultPointer + 8, "i32");
      if (errorPointer !== 0) {
        const messagePointer = wasm.getValue(errorPointer, "i32");
        const cursor = wasm.getValue(errorPointer + 16, "i32");
        const message = messagePointer === 0 ? "syntax error" : wasm.UTF8ToString(messagePointer);
        throw new PgSyntaxError(message, Math.max(cursor, 0));
      }
      if (treePointer === 0) throw new PgParserFault("the SQL parser returned no tree");
      return JSON.parse(wasm.UTF8ToString(treePointer)) as ParseResult;
    } finally {
      wasm._wasm_free_parse_result(resultPointer);
    }
  });
}
