// Types for libpg-query's Emscripten module factory, which the package ships without declarations.

declare module "libpg-query/wasm/libpg-query.js" {
  /** The subset of the Emscripten module that parsing and scanning need. */
  export interface PgQueryWasmModule {
    lengthBytesUTF8(text: string): number;
    stringToUTF8(text: string, pointer: number, maxBytes: number): void;
    UTF8ToString(pointer: number): string;
    getValue(pointer: number, type: "i32"): number;
    _malloc(size: number): number;
    _free(pointer: number): void;
    _wasm_parse_query_raw(queryPointer: number): number;
    _wasm_free_parse_result(resultPointer: number): void;
    /** The scanner's tokens as JSON text, or an error message; free it with `_wasm_free_string`. */
    _wasm_scan(queryPointer: number): number;
    _wasm_free_string(pointer: number): void;
  }

  /** Creates one independent instance (its own linear memory and stack). */
  export default function createPgQueryModule(moduleArg?: object): Promise<PgQueryWasmModule>;
}
