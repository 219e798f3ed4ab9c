// The Data API executor: exact request sequence, $n → :pN conversion, Field decoding, paging under the 1 MiB limit, errors.

import {
  BadRequestException,
  BeginTransactionCommand,
  DatabaseErrorException,
  DatabaseResumingException,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  type ExecuteStatementCommandOutput,
  type Field,
  RDSDataClient,
  RollbackTransactionCommand,
  StatementTimeoutException,
} from "@aws-sdk/client-rds-data";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { withInvocationDeadline } from "#infra/aws/adapters/invocation-deadline.ts";
import { RESERVE_MS } from "#infra/aws/adapters/rds-data-budget.ts";
import { localSettingsSql, RdsDataExecutor } from "#infra/aws/adapters/rds-data-executor.ts";
import { columnDecoders, recordsToRows } from "#infra/aws/adapters/rds-data-fields.ts";
import { toDataApiStatement } from "#infra/aws/adapters/rds-data-params.ts";
import { BadRequestError, QueryFailedError, UnavailableError } from "#shared/errors.ts";
import { silentLogger } from "#shared/log.ts";
import { CATALOG_COLUMNS, CATALOG_SQL } from "#shared/sql/catalog.ts";
import { loadPgScanner } from "#shared/sql/pg-wasm.ts";
import type { ResultColumn, Row } from "#shared/sql/types.ts";

const CLUSTER = "arn:aws:rds:eu-west-1:111111111111:cluster:ehr";
const SECRET = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ehr-ro";
const TX = "tx-1";

const rds = mockClient(RDSDataClient);

/** Waits for a resuming cluster, recorded instead of slept. */
const waits: number[] = [];

function executor(): RdsDataExecutor {
  return new RdsDataExecutor({
    client: new RDSDataClient({ region: "eu-west-1" }),
    clusterArn: CLUSTER,
    secretArn: SECRET,
    database: "ehr",
    logger: silentLogger,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
}

function sink() {
  let columns: readonly ResultColumn[] = [];
  const pages: Row[][] = [];
  return {
    sink: {
      columns: (c: readonly ResultColumn[]) => {
        columns = c;
      },
      rows: (p: readonly Row[]) => {
        pages.push([...p]);
      },
    },
    columns: () => columns,
    pages,
  };
}

const intColumn = { name: "n", label: "n", typeName: "int4" };
const intRows = (from: number, count: number): Field[][] =>
  Array.from({ length: count }, (_, i) => [{ stringValue: String(from + i) }]);

function executed(): ExecuteStatementCommandInput[] {
  return rds.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input);
}

/** Answers FETCH from a cursor over `total` integer rows; the handler can override any statement. */
function serveCursor(
  total: number,
  override?: (sql: string) => ExecuteStatementCommandOutput | Error | undefined,
) {
  let position = 0;
  rds.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
    const sql = input.sql ?? "";
    const custom = override?.(sql);
    if (custom instanceof Error) throw custom;
    if (custom !== undefined) return custom;
    const move = /^MOVE ABSOLUTE (\d+)/.exec(sql);
    if (move !== null) position = Number(move[1]);
    const fetch = /^FETCH FORWARD (\d+)/.exec(sql);
    if (fetch === null) return { $metadata: {} };
    const count = Math.min(Number(fetch[1]), total - position);
    const records = intRows(position + 1, count);
    position += count;
    return { $metadata: {}, columnMetadata: [intColumn], records };
  });
}

beforeAll(async () => {
  await loadPgScanner();
});

beforeEach(() => {
  rds.reset();
  rds.on(BeginTransactionCommand).resolves({ transactionId: TX });
  rds.on(RollbackTransactionCommand).resolves({ transactionStatus: "Rollback Complete" });
});

describe("toDataApiStatement", () => {
  it("replaces PARAM tokens only, leaving $n in literals, comments and dollar quotes alone", () => {
    const sql = "SELECT '$1', $1 /* $2 */ -- $2\n, $$ $2 $$, $2::int[], \"$1\" FROM t WHERE x = $1";
    const out = toDataApiStatement(sql, ["a", 7]);
    expect(out.sql).toBe(
      "SELECT '$1', (:p1) /* $2 */ -- $2\n, $$ $2 $$, (:p2)::int[], \"$1\" FROM t WHERE x = (:p1)",
    );
    expect(out.parameters).toEqual([
      { name: "p1", value: { stringValue: "a" } },
      { name: "p2", value: { longValue: 7 } },
    ]);
  });

  it("splices by byte offsets, so non-ASCII text before a placeholder survives", () => {
    const out = toDataApiStatement("SELECT 'é€😀', $1 AS \"ü\"", [true]);
    expect(out.sql).toBe("SELECT 'é€😀', (:p1) AS \"ü\"");
    expect(out.parameters).toEqual([{ name: "p1", value: { booleanValue: true } }]);
  });

  it("maps every parameter kind, arrays as PostgreSQL array literals (the Data API refuses array values)", () => {
    const out = toDataApiStatement("SELECT $1, $2, $3, $4, $5, $6, $10", [
      null,
      1.5,
      2 ** 53,
      ["a", 'b"c', null, "d\\e"],
      [1, 2],
      false,
      "x",
      "y",
      "z",
      "ten",
    ]);
    expect(out.parameters).toEqual([
      { name: "p1", value: { isNull: true } },
      { name: "p2", value: { doubleValue: 1.5 } },
      { name: "p3", value: { doubleValue: 2 ** 53 } },
      { name: "p4", value: { stringValue: '{"a","b\\"c",NULL,"d\\\\e"}' } },
      { name: "p5", value: { stringValue: '{"1","2"}' } },
      { name: "p6", value: { booleanValue: false } },
      { name: "p10", value: { stringValue: "ten" } },
    ]);
  });

  it("refuses a placeholder without a value", () => {
    expect(() => toDataApiStatement("SELECT $2", ["only one"])).toThrow(BadRequestError);
  });
});

describe("Field conversion", () => {
  it("produces the shared value shapes for every Field variant", () => {
    const metadata = [
      { name: "i4", typeName: "int4" },
      { name: "i8", typeName: "int8" },
      { name: "big", typeName: "int8" },
      { name: "num", typeName: "numeric" },
      { name: "f8", typeName: "float8" },
      { name: "b", typeName: "bool" },
      { name: "t", typeName: "text" },
      { name: "ts", typeName: "timestamp" },
      { name: "tstz", typeName: "timestamptz" },
      { name: "d", typeName: "date" },
      { name: "bytes", typeName: "bytea" },
      { name: "j", typeName: "jsonb" },
      { name: "ints", typeName: "_int4" },
      { name: "texts", typeName: "_text" },
      { name: "nested", typeName: "_int8" },
      { name: "nul", typeName: "text" },
      { name: "ser", typeName: "serial" },
      { name: "u", typeName: "uuid" },
      { name: "geo", typeName: "geometry" },
    ];
    const record: Field[] = [
      { stringValue: "42" },
      { stringValue: "9007199254740993" },
      { longValue: 12 },
      { stringValue: "12345678901234567890.123" },
      { doubleValue: 0.1 },
      { booleanValue: true },
      { stringValue: "hello" },
      { stringValue: "2024-03-01 12:34:56.789" },
      { stringValue: "2024-03-01 12:34:56" },
      { stringValue: "2024-03-01" },
      { blobValue: new Uint8Array([0xde, 0xad, 0x00]) },
      { stringValue: '{"a":[1,2]}' },
      { arrayValue: { longValues: [1, 2, 3] } },
      { arrayValue: { stringValues: ["a", "b"] } },
      { arrayValue: { arrayValues: [{ stringValues: ["1"] }, { stringValues: ["2"] }] } },
      { isNull: true },
      { stringValue: "7" },
      { stringValue: "0b3b5e44-57a7-4b5e-9d27-6f5e0c4a9a11" },
      { stringValue: "0101000020E6100000" },
    ];
    const decoders = columnDecoders(metadata);
    expect(decoders.map((d) => d.column)).toEqual([
      { name: "i4", typeOid: 23, type: "int4" },
      { name: "i8", typeOid: 20, type: "int8" },
      { name: "big", typeOid: 20, type: "int8" },
      { name: "num", typeOid: 1700, type: "numeric" },
      { name: "f8", typeOid: 701, type: "float8" },
      { name: "b", typeOid: 16, type: "bool" },
      { name: "t", typeOid: 25, type: "text" },
      { name: "ts", typeOid: 1114, type: "timestamp" },
      { name: "tstz", typeOid: 1184, type: "timestamptz" },
      { name: "d", typeOid: 1082, type: "date" },
      { name: "bytes", typeOid: 17, type: "bytea" },
      { name: "j", typeOid: 3802, type: "jsonb" },
      { name: "ints", typeOid: 1007, type: "_int4" },
      { name: "texts", typeOid: 1009, type: "_text" },
      { name: "nested", typeOid: 1016, type: "_int8" },
      { name: "nul", typeOid: 25, type: "text" },
      { name: "ser", typeOid: 23, type: "int4" },
      { name: "u", typeOid: 2950, type: "uuid" },
      { name: "geo", typeOid: 0, type: "geometry" },
    ]);
    expect(recordsToRows([record], decoders)).toEqual([
      [
        42,
        "9007199254740993",
        "12",
        "12345678901234567890.123",
        0.1,
        true,
        "hello",
        "2024-03-01T12:34:56.789",
        "2024-03-01T12:34:56Z",
        "2024-03-01",
        "\\xdead00",
        { a: [1, 2] },
        [1, 2, 3],
        ["a", "b"],
        [["1"], ["2"]],
        null,
        7,
        "0b3b5e44-57a7-4b5e-9d27-6f5e0c4a9a11",
        "0101000020E6100000",
      ],
    ]);
  });

  it("keeps an explicit zone on timestamptz and uses the label as the column name", () => {
    const decoders = columnDecoders([{ name: "created_at", label: "at", typeName: "timestamptz" }]);
    expect(decoders[0]?.column.name).toBe("at");
    expect(recordsToRows([[{ stringValue: "2024-03-01 12:00:00+02" }]], decoders)).toEqual([
      ["2024-03-01T12:00:00+02:00"],
    ]);
  });
});

describe("RdsDataExecutor.execute", () => {
  it("begins, makes the transaction read-only with a local timeout, declares, fetches pages and rolls back", async () => {
    serveCursor(5);
    const out = sink();
    const summary = await executor().execute(
      { sql: "SELECT n FROM t WHERE a = $1", params: ["x"], timeoutMs: 5_000, maxRows: 100, pageSize: 2 },
      out.sink,
    );
    expect(rds.commandCalls(BeginTransactionCommand)[0]?.args[0].input).toEqual({
      resourceArn: CLUSTER,
      secretArn: SECRET,
      database: "ehr",
    });
    const calls = executed();
    expect(calls.map((c) => c.sql)).toEqual([
      "SET TRANSACTION READ ONLY",
      localSettingsSql(5_000),
      // A string parameter: PostgreSQL is asked which type it infers (the Data API would bind it as VARCHAR).
      "PREPARE phigate_param_probe AS SELECT n FROM t WHERE a = $1",
      "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'phigate_param_probe'",
      "DEALLOCATE phigate_param_probe",
      "DECLARE phigate_cursor SCROLL CURSOR FOR SELECT n FROM t WHERE a = (:p1)",
      "FETCH FORWARD 2 FROM phigate_cursor",
      "FETCH FORWARD 2 FROM phigate_cursor",
      "FETCH FORWARD 2 FROM phigate_cursor",
    ]);
    expect(localSettingsSql(5_000)).toContain("set_config('statement_timeout', '5000', true)");
    expect(localSettingsSql(5_000)).toContain("set_config('TimeZone', 'UTC', true)");
    for (const call of calls) {
      expect(call).toMatchObject({
        resourceArn: CLUSTER,
        secretArn: SECRET,
        database: "ehr",
        transactionId: TX,
        includeResultMetadata: true,
        resultSetOptions: { decimalReturnType: "STRING", longReturnType: "STRING" },
      });
      expect(call.formatRecordsAs).toBeUndefined();
    }
    expect(calls[5]?.parameters).toEqual([{ name: "p1", value: { stringValue: "x" } }]);
    expect(rds.commandCalls(RollbackTransactionCommand)[0]?.args[0].input).toEqual({
      resourceArn: CLUSTER,
      secretArn: SECRET,
      transactionId: TX,
    });
    expect(out.columns()).toEqual([{ name: "n", typeOid: 23, type: "int4" }]);
    expect(out.pages).toEqual([[[1], [2]], [[3], [4]], [[5]]]);
    expect(summary).toMatchObject({ rowCount: 5, truncated: false });
  });

  it("stops at the row cap, reading one row past it to tell whether the result was truncated", async () => {
    serveCursor(50);
    const out = sink();
    const summary = await executor().execute(
      { sql: "SELECT n FROM t", params: [], timeoutMs: 1_000, maxRows: 5, pageSize: 2 },
      out.sink,
    );
    expect(
      executed()
        .slice(3)
        .map((c) => c.sql),
    ).toEqual([
      "FETCH FORWARD 2 FROM phigate_cursor",
      "FETCH FORWARD 2 FROM phigate_cursor",
      "FETCH FORWARD 2 FROM phigate_cursor",
    ]);
    expect(out.pages.flat()).toEqual([[1], [2], [3], [4], [5]]);
    expect(summary).toMatchObject({ rowCount: 5, truncated: true });
  });

  it("moves the cursor back and halves the page when the Data API refuses a response over 1 MiB", async () => {
    let refusals = 0;
    serveCursor(6, (sql) => {
      if (sql === "FETCH FORWARD 4 FROM phigate_cursor" && refusals < 2) {
        refusals++;
        return new BadRequestException({
          message: "Database returned more than the allowed response size limit",
          $metadata: {},
        });
      }
      return undefined;
    });
    const out = sink();
    const summary = await executor().execute(
      { sql: "SELECT n FROM t", params: [], timeoutMs: 1_000, maxRows: 100, pageSize: 4 },
      out.sink,
    );
    expect(
      executed()
        .slice(3)
        .map((c) => c.sql),
    ).toEqual([
      "FETCH FORWARD 4 FROM phigate_cursor",
      "MOVE ABSOLUTE 0 IN phigate_cursor",
      "FETCH FORWARD 2 FROM phigate_cursor",
      "FETCH FORWARD 2 FROM phigate_cursor",
      "FETCH FORWARD 2 FROM phigate_cursor",
      "FETCH FORWARD 2 FROM phigate_cursor",
    ]);
    expect(out.pages.flat()).toEqual([[1], [2], [3], [4], [5], [6]]);
    expect(summary.rowCount).toBe(6);
  });

  it("fails with row_too_large when even one row exceeds the response limit", async () => {
    serveCursor(3, (sql) =>
      sql.startsWith("FETCH")
        ? new BadRequestException({ message: "Response size too large", $metadata: {} })
        : undefined,
    );
    await expect(
      executor().execute(
        { sql: "SELECT 1", params: [], timeoutMs: 1_000, maxRows: 10, pageSize: 1 },
        sink().sink,
      ),
    ).rejects.toMatchObject({ code: "row_too_large" });
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
  });

  it("maps a database error by its SQLSTATE and never passes the message (which can echo PHI) on", async () => {
    serveCursor(0, (sql) =>
      sql.startsWith("DECLARE")
        ? new DatabaseErrorException({
            message: 'ERROR: invalid input syntax for type integer: "123-45-6789"; SQLState: 22P02',
            $metadata: {},
          })
        : undefined,
    );
    const failure = await executor()
      .execute(
        { sql: "SELECT $1::int", params: ["123-45-6789"], timeoutMs: 1_000, maxRows: 1, pageSize: 1 },
        sink().sink,
      )
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect(failure).toMatchObject({ code: "query_failed", details: { sqlstate: "22P02" } });
    expect(
      JSON.stringify({ m: (failure as Error).message, c: String((failure as Error).cause) }),
    ).not.toContain("123-45-6789");
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
  });

  it("maps timeouts, read-only violations, availability problems and unknown refusals", async () => {
    const cases: [Error, string, number][] = [
      [new StatementTimeoutException({ message: "timed out", $metadata: {} }), "statement_timeout", 422],
      [
        new DatabaseErrorException({
          message: "ERROR: cannot execute INSERT; SQLState: 25006",
          $metadata: {},
        }),
        "read_only_violation",
        422,
      ],
      [new DatabaseResumingException({ message: "resuming", $metadata: {} }), "database_unavailable", 503],
      [
        new BadRequestException({ message: "ERROR: something about 'secret'", $metadata: {} }),
        "query_failed",
        422,
      ],
      [new DatabaseErrorException({ message: "no state here", $metadata: {} }), "query_failed", 422],
    ];
    for (const [error, code, status] of cases) {
      rds.reset();
      rds.on(BeginTransactionCommand).resolves({ transactionId: TX });
      serveCursor(0, (sql) => (sql.startsWith("DECLARE") ? error : undefined));
      const failure = await executor()
        .execute({ sql: "SELECT 1", params: [], timeoutMs: 1_000, maxRows: 1, pageSize: 1 }, sink().sink)
        .catch((e: unknown) => e);
      expect(failure).toMatchObject({ code, status });
      expect((failure as Error).message).not.toContain("secret");
    }
  });

  it("is unavailable when the transaction cannot begin, and does not roll back what never began", async () => {
    rds
      .on(BeginTransactionCommand)
      .rejects(new DatabaseResumingException({ message: "resuming", $metadata: {} }));
    waits.length = 0;
    await expect(
      executor().execute(
        { sql: "SELECT 1", params: [], timeoutMs: 1_000, maxRows: 1, pageSize: 1 },
        sink().sink,
      ),
    ).rejects.toBeInstanceOf(UnavailableError);
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(0);
    // Outside an invocation the budget is unbounded: the resume waits stop at their attempt limit.
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000, 8_000]);
  });
  it("refuses before beginning a transaction when the invocation has too little time left", async () => {
    const refused = withInvocationDeadline({ getRemainingTimeInMillis: () => RESERVE_MS + 2_500 }, () =>
      executor().execute(
        { sql: "SELECT 1", params: [], timeoutMs: 5_000, maxRows: 1, pageSize: 1 },
        sink().sink,
      ),
    );
    await expect(refused).rejects.toMatchObject({ code: "database_unavailable", status: 503 });
    expect(rds.commandCalls(BeginTransactionCommand)).toHaveLength(0);
  });

  it("answers 503 to retry, not a statement timeout, when the begin is cut off by the time left", async () => {
    rds
      .on(BeginTransactionCommand)
      .rejects(Object.assign(new Error("Request aborted"), { name: "AbortError" }));
    const failure = await executor()
      .execute({ sql: "SELECT 1", params: [], timeoutMs: 1_000, maxRows: 1, pageSize: 1 }, sink().sink)
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: "database_unavailable", status: 503 });
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(0);
  });

  it("rolls back the transaction it began when the time ran out while it was begun", async () => {
    // The begin takes 2.5 s of an invocation that had 2 s to spare (reserve and slack apart): the check before it
    // passes, the one after it refuses, and the transaction begun must not be left open.
    rds.on(BeginTransactionCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      return { transactionId: TX };
    });
    const refused = withInvocationDeadline(
      { getRemainingTimeInMillis: () => RESERVE_MS + 2_000 + 1_000 + 2_000 },
      () =>
        executor().execute(
          { sql: "SELECT 1", params: [], timeoutMs: 5_000, maxRows: 1, pageSize: 1 },
          sink().sink,
        ),
    );
    await expect(refused).rejects.toMatchObject({ code: "database_unavailable", status: 503 });
    expect(rds.commandCalls(BeginTransactionCommand)).toHaveLength(1);
    expect(rds.commandCalls(RollbackTransactionCommand).map((c) => c.args[0].input.transactionId)).toEqual([
      TX,
    ]);
  });
});

describe("RdsDataExecutor.estimateRows and loadCatalog", () => {
  it("reads the planner estimate from EXPLAIN (FORMAT JSON) inside the same read-only transaction", async () => {
    serveCursor(0, (sql) =>
      sql.startsWith("EXPLAIN")
        ? {
            $metadata: {},
            columnMetadata: [{ name: "QUERY PLAN", typeName: "json" }],
            records: [[{ stringValue: '[{"Plan":{"Node Type":"Seq Scan","Plan Rows":1234}}]' }]],
          }
        : undefined,
    );
    expect(
      await executor().estimateRows({ sql: "SELECT * FROM t WHERE a = $1", types: ["int4"] }, 2_000),
    ).toBe(1234);
    const sqls = executed().map((c) => c.sql);
    const name = /^PREPARE (phigate_estimate_[0-9a-f]{16}) /.exec(sqls[2] ?? "")?.[1];
    // The generic plan: prepared under its own name, explained with NULLs, deallocated before the rollback.
    expect(sqls).toEqual([
      "SET TRANSACTION READ ONLY",
      localSettingsSql(2_000, [["plan_cache_mode", "force_generic_plan"]]),
      `PREPARE ${name} (int4) AS SELECT * FROM t WHERE a = $1`,
      `EXPLAIN (FORMAT JSON) EXECUTE ${name} (NULL)`,
      `DEALLOCATE ${name}`,
    ]);
    expect(executed().every((c) => (c.parameters ?? []).length === 0)).toBe(true);
  });

  it("loads the catalog with the shared catalog query", async () => {
    const text = (value: string | null) => (value === null ? { isNull: true } : { stringValue: value });
    const row = (entry: string, name: string, kind: string, detail: string) =>
      [entry, "public", name, kind, detail, null, null, '["public"]', "v1"].map(text);
    serveCursor(0, (sql) =>
      sql === CATALOG_SQL
        ? {
            $metadata: {},
            columnMetadata: CATALOG_COLUMNS.map((name) => ({ name, typeName: "text" })),
            records: [
              row("relation", "patients", "table", '[["id","integer"]]'),
              row("builtin", "lower", "i", '["function"]'),
            ],
          }
        : undefined,
    );
    const loaded = await executor().loadCatalog();
    expect(loaded.searchPath).toEqual(["public"]);
    expect(loaded.relations).toEqual([
      { schema: "public", table: "patients", kind: "table", columns: [{ name: "id", type: "integer" }] },
    ]);
    expect(loaded.version).toBe("v1");
    expect(loaded.builtins).toEqual([
      { schema: "public", name: "lower", kinds: ["function"], volatility: "immutable" },
    ]);
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
  });
});
