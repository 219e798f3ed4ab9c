// Worker-thread bootstrap: registers the TypeScript loader, then runs the worker module named in workerData.
import { workerData } from "node:worker_threads";
import { tsImport } from "tsx/esm/api";

await tsImport(workerData.entry, import.meta.url);
