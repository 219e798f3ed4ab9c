// The test's own lookup recognizer: only the spec's lookup shapes are translated, nothing that could hide an oracle.

import { beforeAll, describe, expect, it } from "vitest";
import {
  loadLookupParser,
  lookupOperands,
  translateLookups,
} from "#test/support/non-interference/lookup-literals.ts";
import type { LiteralImages } from "#test/support/non-interference/worlds.ts";

const SSN = "123-45-6789";
const IMAGE = "987-65-6789";
const literals: LiteralImages = {
  byColumn: new Map([
    ["ssn", new Map([[SSN, IMAGE]])],
    ["dob", new Map([["1980-02-01", "1980-07-19"]])],
  ]),
  any: new Map([
    [SSN, IMAGE],
    ["1980-02-01", "1980-07-19"],
  ]),
  unprotectedNames: new Set(["id", "started_at"]),
};

function translated(sql: string, params?: unknown[]) {
  return translateLookups(sql, params, literals);
}

beforeAll(loadLookupParser);

describe("the lookup recognizer", () => {
  it.each([
    `SELECT id FROM patients WHERE ssn = '${SSN}'`,
    `SELECT id FROM patients WHERE '${SSN}' = ssn AND id < 5`,
    `SELECT id FROM patients p WHERE p.ssn IN ('${SSN}', 'x')`,
    `SELECT id FROM patients WHERE ssn = ANY (ARRAY['${SSN}'])`,
    `SELECT id FROM patients WHERE ssn = '${SSN}'::text`,
    `SELECT id FROM patients WHERE (id > 0 AND ssn = '${SSN}') AND true`,
    `SELECT * FROM (SELECT ssn AS s FROM patients WHERE ssn = '${SSN}') t`,
    `SELECT s FROM (SELECT ssn AS s FROM patients) t WHERE t.s = '${SSN}'`,
    `SELECT 1 FROM patients p JOIN encounters e ON e.patient_id = p.id AND p.ssn = '${SSN}'`,
    `SELECT ssn FROM patients WHERE id = 1 UNION SELECT ssn FROM patients WHERE ssn = '${SSN}'`,
    `WITH c AS (SELECT ssn FROM patients WHERE ssn = '${SSN}') SELECT * FROM c`,
  ])("translates the lookup in %s", (sql) => {
    const out = translated(sql);
    expect(out.replaced).toEqual([{ from: SSN, to: IMAGE }]);
    expect(out.sql).toBe(sql.replace(`'${SSN}'`, `'${IMAGE}'`));
  });

  it.each([
    `SELECT '${SSN}'`,
    `SELECT ssn = '${SSN}' FROM patients`,
    `SELECT ssn FROM patients UNION ALL SELECT '${SSN}'`,
    `SELECT id FROM patients WHERE ssn <> '${SSN}'`,
    `SELECT id FROM patients WHERE ssn LIKE '${SSN}'`,
    `SELECT id FROM patients WHERE ssn = '${SSN}' OR id = 1`,
    `SELECT id FROM patients WHERE NOT (ssn = '${SSN}')`,
    `SELECT id FROM patients WHERE ssn::text = '${SSN}'`,
    `SELECT id FROM patients WHERE upper(ssn) = '${SSN}'`,
    `SELECT id FROM patients WHERE ssn IN ('${SSN}', mrn)`,
    `SELECT id FROM patients WHERE ssn = '${SSN.slice(0, -1)}'`,
    `SELECT 1 FROM patients p LEFT JOIN encounters e ON e.patient_id = p.id AND p.ssn = '${SSN}'`,
    `SELECT count(*) FROM patients GROUP BY id HAVING max(ssn) = '${SSN}'`,
    `SELECT CASE WHEN ssn = '${SSN}' THEN 1 END FROM patients`,
    `SELECT id FROM patients WHERE (ssn = '${SSN}') IS TRUE`,
    `SELECT id FROM patients WHERE ssn = ANY ('{${SSN}}'::text[])`,
    `SELECT id FROM patients WHERE ssn = E'${SSN}'`,
    `SELECT id FROM medications WHERE started_at = '1980-02-01'`,
  ])("leaves %s as it is", (sql) => {
    expect(translated(sql)).toEqual({ sql, params: undefined, replaced: [] });
  });

  it("translates a parameter only when every use of it is a lookup", () => {
    expect(translated("SELECT id FROM patients WHERE ssn = $1", [SSN]).params).toEqual([IMAGE]);
    expect(
      translated("SELECT id FROM patients WHERE ssn = $1::text AND dob = $2", [SSN, "1980-02-01"]).params,
    ).toEqual([IMAGE, "1980-07-19"]);
    expect(translated("SELECT $1::text, id FROM patients WHERE ssn = $1", [SSN]).params).toEqual([SSN]);
    expect(translated("SELECT id FROM patients WHERE ssn LIKE $1", [SSN]).params).toEqual([SSN]);
  });

  it("finds the operands of every lookup shape with the column they are compared with", () => {
    const sql =
      "SELECT 1 FROM t WHERE a = 'x' AND 'y' = b AND c IN (1, $2) AND d = ANY (ARRAY[date '2020-01-01'])";
    expect(lookupOperands(sql)).toEqual([
      { kind: "literal", value: "x", location: sql.indexOf("'x'"), column: "a" },
      { kind: "literal", value: "y", location: sql.indexOf("'y'"), column: "b" },
      { kind: "literal", value: "1", location: sql.indexOf("1,"), column: "c" },
      { kind: "param", number: 2, column: "c" },
      { kind: "literal", value: "2020-01-01", location: sql.indexOf("'2020"), column: "d" },
    ]);
    expect(lookupOperands("not sql at all")).toEqual([]);
  });
});
