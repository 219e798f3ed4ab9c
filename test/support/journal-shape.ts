// Reads a local gateway's session journal and finds the records not written exactly in their schema's shape.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { SESSION_RECORD_SCHEMA, sessionRecordSchema } from "#shared/sessions/record.ts";

/** What a journal check found: how many session records it read, and each one that is not its schema projection. */
export interface JournalShape {
  readonly records: number;
  readonly outOfShape: string[];
}

/**
 * Compares every session record in `<dataDir>/sessions` with its `sessionRecordSchema` projection, byte for byte as
 * serialized: the stores write records without parsing them, so a builder that adds a key the schema strips, or
 * orders keys otherwise, shows here.
 */
export async function journalShape(dataDir: string): Promise<JournalShape> {
  const directory = join(dataDir, "sessions");
  const outOfShape: string[] = [];
  let records = 0;
  for (const name of (await readdir(directory)).filter((n) => n.endsWith(".jsonl")).sort()) {
    for (const line of (await readFile(join(directory, name), "utf8")).split("\n")) {
      if (line === "") continue;
      const entry = JSON.parse(line) as { seq: number; record: { schema?: unknown } };
      if (entry.record.schema !== SESSION_RECORD_SCHEMA) continue;
      records++;
      const written = JSON.stringify(entry.record);
      const projected = JSON.stringify(sessionRecordSchema.parse(entry.record));
      if (written !== projected)
        outOfShape.push(`entry ${entry.seq}: ${firstDifference(written, projected)}`);
    }
  }
  return { records, outOfShape };
}

function firstDifference(written: string, projected: string): string {
  let at = 0;
  while (at < written.length && written[at] === projected[at]) at++;
  const from = Math.max(0, at - 40);
  return `written …${written.slice(from, at + 40)}… projected …${projected.slice(from, at + 40)}…`;
}
