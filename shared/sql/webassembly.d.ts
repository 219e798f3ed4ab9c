// Types for the part of the WebAssembly JavaScript API the parser pool and the PGlite workers use (ES2023 has none).

declare namespace WebAssembly {
  // biome-ignore lint/suspicious/noEmptyInterface: an opaque compiled module
  interface Module {}
  /** For `instanceof`: a module handed from another thread (the embedded database's workers share one). */
  const Module: { new (bytes: Uint8Array): Module; prototype: Module };
  interface Instance {
    readonly exports: Record<string, unknown>;
  }
  type Imports = Record<string, Record<string, unknown>>;
  /** Compiles the bytes (off the main thread). */
  function compile(bytes: Uint8Array): Promise<Module>;
  /** A new instance of a compiled module, with its own memory. */
  function instantiate(module: Module, imports?: Imports): Promise<Instance>;
}
