// Types for the part of the WebAssembly JavaScript API the parser pool uses (the project's lib, ES2023, has none).

declare namespace WebAssembly {
  // biome-ignore lint/suspicious/noEmptyInterface: an opaque compiled module
  interface Module {}
  interface Instance {
    readonly exports: Record<string, unknown>;
  }
  type Imports = Record<string, Record<string, unknown>>;
  /** Compiles the bytes (off the main thread). */
  function compile(bytes: Uint8Array): Promise<Module>;
  /** A new instance of a compiled module, with its own memory. */
  function instantiate(module: Module, imports?: Imports): Promise<Instance>;
}
