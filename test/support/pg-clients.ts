// Debian's PostgreSQL clients for the proxy tests (psql, python3-psycopg2): where they are, how to skip without them.

import { spawnSync } from "node:child_process";
import { describe, it } from "vitest";

/** A client program the tests drive. */
export type PgClientTool = "psql" | "psycopg2";

/** The Python interpreter that imports psycopg2 (Debian's `python3-psycopg2` serves /usr/bin/python3). */
export const PYTHON_WITH_PSYCOPG2: string | undefined = ["/usr/bin/python3", "python3"].find(
  (python) => spawnSync(python, ["-c", "import psycopg2"], { stdio: "ignore" }).status === 0,
);

function available(tool: PgClientTool): boolean {
  if (tool === "psycopg2") return PYTHON_WITH_PSYCOPG2 !== undefined;
  return spawnSync("psql", ["--version"], { stdio: "ignore" }).status === 0;
}

const PACKAGES: Readonly<Record<PgClientTool, string>> = {
  psql: "postgresql-client",
  psycopg2: "python3-psycopg2",
};

/**
 * `describe` when the client is installed, else a visible skip with the reason (and a warning on stderr). With
 * `PHIGATE_REQUIRE_PG_CLIENTS=1` (CI sets it) a missing client fails the suite instead.
 */
export function describeWithClient(tool: PgClientTool, name: string, body: () => void): void {
  if (available(tool)) {
    describe(name, body);
    return;
  }
  const reason = `${tool} is missing: install it with \`apt-get install -y ${PACKAGES[tool]}\` (CI's .ci/run does)`;
  if (process.env.PHIGATE_REQUIRE_PG_CLIENTS === "1") {
    describe(name, () => {
      it(`needs ${tool} (PHIGATE_REQUIRE_PG_CLIENTS=1)`, () => {
        throw new Error(reason);
      });
    });
  } else {
    console.warn(`[pg-clients] skipping "${name}": ${reason}`);
    describe.skip(`${name} (skipped: ${reason})`, body);
  }
}
