// Imported first by the entries that parse SQL: the parser's WASM compiles off the main thread while the rest of the bundle evaluates.
import { compilePgWasmEarly } from "#shared/sql/pg-wasm.ts";

compilePgWasmEarly();
