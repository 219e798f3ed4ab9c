// The generator's inputs over the demo policy: small worlds (300 patients), world A's literals and the protected columns.

import { readFileSync } from "node:fs";
import { parsePolicy } from "#shared/policy/load.ts";
import { buildWorlds, type WorldPair } from "#test/support/non-interference/worlds.ts";
import { type LiteralPool, literalPool } from "#test/support/random-sql/model.ts";

/** The worlds, world A's literal pool and the protected base columns (`table.column`) for the nightly principal. */
export function demoGeneratorInputs(): {
  readonly worlds: WorldPair;
  readonly pool: LiteralPool;
  readonly protectedColumns: ReadonlySet<string>;
} {
  const worlds = buildWorlds({
    policy: parsePolicy(readFileSync("policy/demo.yaml", "utf8"), "policy/demo.yaml"),
    principalId: "nightly-report",
    ehr: { seed: 7, patients: 300, encounters: 1_800, medications: 900 },
    imageSeed: 5,
    currentYear: 2026,
  });
  const protectedColumns = new Set(
    [...worlds.protection.columns.values()].map((c) => `${c.table}.${c.column}`),
  );
  return { worlds, pool: literalPool(worlds.a), protectedColumns };
}
