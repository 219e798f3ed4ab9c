// Generates and mutates SQL statements for fuzzing the gateway: deterministic, hostile, bounded in size.

import { Prng } from "#tools/ehr/prng.ts";

const SEEDS = [
  "SELECT id, department FROM encounters WHERE id = 1",
  "SELECT id, ssn FROM patients WHERE id < 10 LIMIT 5",
  "WITH x AS (SELECT id FROM patients) SELECT count(*) FROM x",
  "SELECT e.department, count(*) FROM encounters e JOIN patients p ON p.id = e.patient_id GROUP BY 1",
  "SELECT drug FROM medications UNION SELECT department FROM encounters",
  "SELECT (SELECT max(id) FROM encounters), 1",
  "SELECT * FROM patients p, LATERAL (SELECT * FROM encounters e WHERE e.patient_id = p.id LIMIT 1) l",
  "SELECT row_to_json(p) FROM patients p",
  "SELECT id FROM patients WHERE ssn LIKE $1",
  "DELETE FROM patients WHERE id = 1",
  "COPY patients TO PROGRAM 'id'",
  "SELECT pg_read_file('/etc/passwd')",
];

const TOKENS = [
  "SELECT",
  "FROM",
  "WHERE",
  "UNION",
  "ALL",
  "JOIN",
  "ON",
  "(",
  ")",
  ",",
  ";",
  "*",
  "'",
  '"',
  "--",
  "/*",
  "*/",
  "$1",
  "$$",
  "::text",
  "||",
  "patients",
  "encounters",
  "ssn",
  "pg_sleep(10)",
  "NULL",
  "1",
  "-1e308",
  "E'\\\\x00'",
  "\\",
  "\u0000",
  "\uD800",
  "😀",
  "ＳＥＬＥＣＴ",
  "DROP TABLE x",
  "COPY",
  "TO PROGRAM",
  "WITH RECURSIVE",
  "LATERAL",
  "ROW(",
  "AS",
  "VALUES",
  "ORDER BY",
  "LIMIT",
  "OFFSET",
  "FOR UPDATE",
  "INTO",
  "CALL",
  "DO $$ BEGIN END $$",
  "\n",
  "\t",
  "\r",
];

function nest(depth: number, inner: string): string {
  return `${"(".repeat(depth)}${inner}${")".repeat(depth)}`;
}

/** The i-th hostile statement for a seed (same inputs → same statement). Every statement is at most ~110 KB. */
export function hostileStatement(seed: number, i: number): string {
  const rng = new Prng(seed, i);
  const base = rng.pick(SEEDS);
  switch (i % 10) {
    case 0:
      return Array.from({ length: rng.int(1, 30) }, () => rng.pick(TOKENS)).join(rng.chance(0.5) ? " " : "");
    case 1: {
      const at = rng.int(0, base.length);
      return `${base.slice(0, at)}${rng.pick(TOKENS)}${base.slice(at)}`;
    }
    case 2: {
      const at = rng.int(0, base.length - 1);
      return `${base.slice(0, at)}${base.slice(at + rng.int(1, 8))}`;
    }
    case 3:
      return `SELECT ${nest(rng.int(10, 5_000), "1")}`;
    case 4:
      return `SELECT '${"x".repeat(rng.int(1_000, 99_000))}'`;
    case 5:
      return `${base}; ${rng.pick(["DROP TABLE patients", "SELECT ssn FROM patients", "COMMIT", "SET ROLE postgres"])}`;
    case 6:
      return `${base} /* ${rng.pick(TOKENS)} */ ${rng.chance(0.5) ? "-- ;DROP" : ""}`;
    case 7:
      return base.replace(/ /g, () => rng.pick([" ", "\n", "/**/", "\t", "  "]));
    case 8:
      return `SELECT ${Array.from({ length: rng.int(1, 400) }, (_, k) => `c${k}`).join(" + ")} FROM ${rng.pick(["patients", "encounters", "(VALUES (1)) v(c0)"])}`;
    default:
      return Array.from(base, (ch) => (rng.chance(0.05) ? String.fromCharCode(rng.int(0, 0xffff)) : ch)).join(
        "",
      );
  }
}
