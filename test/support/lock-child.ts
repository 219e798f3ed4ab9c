// A process that races for a DATA_DIR lock: prints "ready", waits for "go" on stdin, prints "locked" or
// "refused", and holds the lock until stdin closes.

import { createInterface } from "node:readline";
import { lockDataDir } from "#infra/local/data-dir-lock.ts";

const dataDir = process.argv[2] ?? "";
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
process.stdout.write("ready\n");
await lines.next();
let unlock: (() => Promise<void>) | undefined;
try {
  unlock = await lockDataDir(dataDir);
  process.stdout.write("locked\n");
} catch (error) {
  process.stdout.write(`refused ${(error as Error).message}\n`);
}
while (!(await lines.next()).done) {
  // hold the lock until stdin closes
}
await unlock?.();
