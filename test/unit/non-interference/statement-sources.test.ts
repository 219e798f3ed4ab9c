// The non-interference run's sources: the adversarial suite is picked up when present, and must have the agreed shape.

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { optionalAdversarialSuite } from "#test/support/non-interference/statement-sources.ts";

const roots: string[] = [];

async function rootWith(source: string | undefined): Promise<string> {
  const root = await mkdtemp(join(process.env.PHIGATE_TEST_TMP ?? tmpdir(), "phigate-ni-sources-"));
  roots.push(root);
  if (source !== undefined) {
    await mkdir(join(root, "test/support/adversarial"), { recursive: true });
    await writeFile(join(root, "test/support/adversarial/statements.ts"), source);
  }
  return root;
}

afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

describe("the optional adversarial suite", () => {
  it("is empty while the file does not exist", async () => {
    expect(await optionalAdversarialSuite(await rootWith(undefined))).toEqual([]);
  });

  it("is read from test/support/adversarial/statements.ts when it exists", async () => {
    const root = await rootWith(
      'export const ADVERSARIAL_STATEMENTS: readonly { category: string; sql: string; params?: unknown[] }[] = [{ category: "x", sql: "SELECT 1", params: [1] }];\n',
    );
    expect(await optionalAdversarialSuite(root)).toEqual([{ category: "x", sql: "SELECT 1", params: [1] }]);
  });

  it("throws when the file exports something else", async () => {
    const root = await rootWith('export const STATEMENTS = ["SELECT 1"];\n');
    await expect(optionalAdversarialSuite(root)).rejects.toThrow(/must export ADVERSARIAL_STATEMENTS/);
  });
});
