// What the proxy decides before the gateway: the lexical scan, local statements, SQLSTATEs, and values as text.

import { describe, expect, it } from "vitest";
import { localStatement } from "#cli/proxy/local-statements.ts";
import { sqlstateOf } from "#cli/proxy/proxy-error.ts";
import { scanSql } from "#cli/proxy/sql-scan.ts";
import { textValue } from "#cli/proxy/text-values.ts";
import { KNOWN_SCALAR_TYPES, wireType } from "#cli/proxy/type-oids.ts";
import { decodeValue, typeName } from "#shared/sql/values.ts";

const SETTINGS = new Map([
  ["transaction_isolation", "read committed"],
  ["server_version", "15.0"],
]);
const decide = (sql: string) => localStatement(scanSql(sql), SETTINGS);

describe("scanSql", () => {
  it("finds parameters outside literals, comments, quoted identifiers and dollar quotes", () => {
    const scan = scanSql(
      `/* $9 /* nested $8 */ */ SELECT $2, '$7', E'\\'$6', "$5", $tag$ $4 $tag$, $$ $3 $$ -- $10\n FROM t WHERE a = $1`,
    );
    expect(scan.maxParam).toBe(2);
    expect(scan.words[0]).toBe("select");
    expect(scan.multiple).toBe(false);
  });

  it("tells empty statements and several statements apart from one with a trailing semicolon", () => {
    expect(scanSql(" ; -- nothing\n;").empty).toBe(true);
    expect(scanSql("SELECT 1; -- done").multiple).toBe(false);
    expect(scanSql("SELECT 1; SELECT 2").multiple).toBe(true);
    expect(scanSql("SELECT ';'").multiple).toBe(false);
  });
});

describe("localStatement", () => {
  it("sends queries to the gateway and answers transaction brackets itself", () => {
    for (const sql of ["SELECT 1", "WITH x AS (SELECT 1) SELECT * FROM x", "VALUES (1)", "start_date()"])
      expect(decide(sql).kind).toBe("gateway");
    expect(decide("BEGIN").kind).toBe("begin");
    expect(decide("start transaction isolation level read committed, read only").kind).toBe("begin");
    expect(decide("COMMIT").kind).toBe("commit");
    expect(decide("END").kind).toBe("commit");
    expect(decide("ROLLBACK").kind).toBe("rollback");
    expect(decide("ROLLBACK TO SAVEPOINT a")).toEqual({ kind: "savepoint", tag: "ROLLBACK", rollback: true });
    expect(decide("SHOW TRANSACTION_ISOLATION")).toEqual({
      kind: "show",
      name: "transaction_isolation",
      value: "read committed",
    });
  });

  it("accepts settings the proxy already honours, and records application_name", () => {
    expect(decide("SET application_name = 'nightly'")).toEqual({
      kind: "set",
      tag: "SET",
      parameter: ["application_name", "nightly"],
    });
    for (const sql of [
      "SET DateStyle TO 'ISO'",
      "set time zone 'UTC'",
      "SET extra_float_digits = 3",
      "SET client_encoding TO 'UTF8'",
      "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
    ])
      expect(decide(sql).kind, sql).toBe("set");
  });

  it("refuses what cannot be honest over the proxy, with SQLSTATE 0A000", () => {
    for (const sql of [
      "BEGIN ISOLATION LEVEL SERIALIZABLE",
      "START TRANSACTION ISOLATION LEVEL REPEATABLE READ",
      "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
      "COPY patients TO STDOUT",
      "DECLARE c CURSOR FOR SELECT 1",
      "FETCH 10 FROM c",
      "PREPARE q AS SELECT 1",
      "EXECUTE q",
      "LISTEN x",
      "SET search_path = other",
      "SET TimeZone = 'Europe/Paris'",
      "SET client_encoding = 'LATIN1'",
      "SHOW work_mem",
      "PREPARE TRANSACTION 'x'",
    ]) {
      const decision = decide(sql);
      expect(decision.kind, sql).toBe("refused");
      if (decision.kind === "refused") expect(decision.error.sqlstate).toBe("0A000");
    }
  });
});

describe("sqlstateOf", () => {
  it("maps the gateway's codes, the SQLSTATE a message names, then the HTTP status", () => {
    expect(sqlstateOf({ code: "policy_denied", message: "", status: 403 })).toBe("42501");
    expect(sqlstateOf({ code: "unauthorized", message: "", status: 401 })).toBe("28000");
    expect(sqlstateOf({ code: "approval_expired", message: "", status: 410 })).toBe("57014");
    expect(
      sqlstateOf({ code: "query_failed", message: "the statement failed (SQLSTATE 22P02)", status: 422 }),
    ).toBe("22P02");
    expect(sqlstateOf({ code: "something_new", message: "", status: 409 })).toBe("40001");
  });
});

describe("values as PostgreSQL text", () => {
  it("round-trips what the gateway decodes back to PostgreSQL's text format", () => {
    const cases: [number, string][] = [
      [16, "t"],
      [23, "42"],
      [20, "12345678901234"],
      [701, "0.3333333333333333"],
      [1082, "2024-05-06"],
      [1114, "2024-05-06 07:08:09.5"],
      [1184, "2024-05-06 07:08:09.5+00"],
      [1184, "2024-05-06 07:08:09+05:30"],
      [1007, "{1,NULL,3}"],
      [1009, '{"x y","",plain,"NULL","a\\"b"}'],
      [3802, '{"k":[1]}'],
    ];
    for (const [oid, text] of cases) {
      const name = typeName(oid);
      expect(textValue(decodeValue(oid, text), name), `${name} ${text}`).toBe(text);
    }
    expect(textValue(null, "int4")).toBeNull();
  });

  it("describes every type the gateway names with the OID it came from", () => {
    for (const name of KNOWN_SCALAR_TYPES) {
      expect(typeName(wireType(name).oid)).toBe(name);
      expect(typeName(wireType(`_${name}`).oid)).toBe(`_${name}`);
    }
    expect(wireType("oid:16385")).toEqual({ oid: 16385, size: -1 });
    expect(wireType("mystery")).toEqual({ oid: 25, size: -1 });
  });
});
