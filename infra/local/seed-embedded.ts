// Seeds the embedded database with the synthetic EHR on first start (and never touches it again).

import type { PgliteExecutor } from "#infra/local/adapters/pglite-executor.ts";
import type { Logger } from "#shared/log.ts";
import type { SqlParam } from "#shared/ports.ts";
import type { CellValue } from "#shared/sql/types.ts";
import { decodeValue } from "#shared/sql/values.ts";
import { isEhrSeeded, seedEhr } from "#tools/ehr/seed.ts";

/** The embedded database as the seeder's `SqlTarget`: rows as objects of decoded values, like a driver returns. */
function seedTarget(pglite: PgliteExecutor) {
  return {
    async query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, CellValue>[] }> {
      const result = await pglite.admin(sql, (params ?? []) as SqlParam[]);
      return {
        rows: result.rows.map((row) =>
          Object.fromEntries(result.fields.map((f, i) => [f.name, decodeValue(f.typeOid, row[i] ?? null)])),
        ),
      };
    },
  };
}

/** Seeds the embedded database if it has no EHR yet; reports whether it seeded now. */
export async function ensureSeeded(pglite: PgliteExecutor, logger: Logger): Promise<"now" | "already"> {
  const target = seedTarget(pglite);
  if (await isEhrSeeded(target)) return "already";
  logger.info("seeding the synthetic EHR (first start)");
  const result = await seedEhr(target);
  logger.info("seeded the synthetic EHR", {
    patients: result.counts.patients,
    encounters: result.counts.encounters,
    medications: result.counts.medications,
    ms: Math.round(result.durationMs),
  });
  return result.status === "seeded" ? "now" : "already";
}
