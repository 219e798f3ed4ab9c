// SqlExecutor over the RDS Data API: a read-only transaction, a statement timeout, and a cursor read page by page.

import { randomBytes } from "node:crypto";
import {
  BeginTransactionCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandOutput,
  type RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from "@aws-sdk/client-rds-data";
import {
  callBudgetMs,
  clampTimeout,
  ROLLBACK_LIMIT_MS,
  resumeTolerant,
} from "#infra/aws/adapters/rds-data-budget.ts";
import { dataApiFailure, isResponseTooLarge, sqlstateOf } from "#infra/aws/adapters/rds-data-errors.ts";
import { columnDecoders, recordsToRows } from "#infra/aws/adapters/rds-data-fields.ts";
import { inferParameterTypes, needsParameterTypes } from "#infra/aws/adapters/rds-data-param-types.ts";
import { toDataApiStatement } from "#infra/aws/adapters/rds-data-params.ts";
import { QueryFailedError, UnavailableError } from "#shared/errors.ts";
import type { Logger } from "#shared/log.ts";
import {
  type ExecuteRequest,
  type ExecuteSummary,
  OPAQUE_JOIN_SETTINGS,
  type RowSink,
  type SqlExecutor,
  type SqlParam,
} from "#shared/ports.ts";
import { CATALOG_SQL, catalogFromRows } from "#shared/sql/catalog.ts";
import type { GenericStatement } from "#shared/sql/generic-statement.ts";
import { loadPgScanner } from "#shared/sql/pg-wasm.ts";
import {
  estimateSteps,
  type PlanFigure,
  parameterTypeError,
  planEstimate,
  withRetyping,
} from "#shared/sql/plan-estimate.ts";
import type { Catalog } from "#shared/sql/types.ts";
import { SESSION_SETTINGS } from "#shared/sql/values.ts";

/** The cursor every execution declares (one per transaction, so the name never collides). */
const CURSOR_NAME = "phigate_cursor";

/** Where the executor runs and how. */
export interface RdsDataExecutorOptions {
  readonly client: RDSDataClient;
  readonly clusterArn: string;
  readonly secretArn: string;
  readonly database: string;
  readonly logger: Logger;
  /** Extra time past the statement timeout before the client gives up on a call (default 2 s). */
  readonly deadlineSlackMs?: number;
  /** How waits for a resuming cluster sleep (tests record them instead). */
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Transaction {
  readonly id: string;
  readonly signal: AbortSignal;
}

/** The `set_config` statement applying the timeout and the output settings (`SESSION_SETTINGS`), transaction-locally. */
export function localSettingsSql(
  timeoutMs: number,
  extra: readonly (readonly [string, string])[] = [],
): string {
  const settings: (readonly [string, string])[] = [
    ["statement_timeout", String(Math.max(1, Math.floor(timeoutMs)))],
    ...SESSION_SETTINGS,
    ...extra,
  ];
  return `SELECT ${settings.map(([k, v]) => `set_config('${k}', '${v}', true)`).join(", ")}`;
}

/**
 * Every call runs in a Data API transaction that is made read-only first, gets a local statement timeout,
 * and is always rolled back. Results are read through a cursor in pages of at most `pageSize` rows; when the
 * Data API refuses a page for exceeding its 1 MiB response limit, the cursor is moved back to the last row
 * delivered (a refused FETCH has already advanced it, hence a SCROLL cursor) and the page is halved.
 */
export class RdsDataExecutor implements SqlExecutor {
  private readonly slack: number;

  constructor(private readonly options: RdsDataExecutorOptions) {
    this.slack = options.deadlineSlackMs ?? 2_000;
  }

  async execute(request: ExecuteRequest, sink: RowSink): Promise<ExecuteSummary> {
    await loadPgScanner();
    const settings = request.opaqueJoins === true ? OPAQUE_JOIN_SETTINGS : [];
    return this.transaction(request.timeoutMs, settings, async (tx) => {
      const statement = await this.typedStatement(tx, request.sql, request.params);
      const started = performance.now();
      await this.statement(
        tx,
        `DECLARE ${CURSOR_NAME} SCROLL CURSOR FOR ${statement.sql}`,
        statement.parameters,
      );
      let rowCount = 0;
      let position = 0;
      let truncated = false;
      let pageLimit = Math.max(1, request.pageSize);
      let decoders: ReturnType<typeof columnDecoders> | undefined;
      for (;;) {
        const want = Math.min(pageLimit, request.maxRows - rowCount + 1);
        let page: ExecuteStatementCommandOutput;
        try {
          page = await this.statement(tx, `FETCH FORWARD ${want} FROM ${CURSOR_NAME}`);
        } catch (error) {
          if (!isResponseTooLarge(error)) throw error;
          if (want === 1) {
            throw new QueryFailedError(
              "row_too_large",
              "a result row is larger than the Data API can return",
            );
          }
          pageLimit = Math.max(1, Math.floor(want / 2));
          this.options.logger.debug("page exceeded the Data API response limit; halving it", { pageLimit });
          await this.statement(tx, `MOVE ABSOLUTE ${position} IN ${CURSOR_NAME}`);
          continue;
        }
        const records = page.records ?? [];
        position += records.length;
        if (decoders === undefined) {
          decoders = columnDecoders(page.columnMetadata ?? []);
          await sink.columns(decoders.map((d) => d.column));
        }
        let rows = recordsToRows(records, decoders);
        if (rowCount + rows.length > request.maxRows) {
          rows = rows.slice(0, request.maxRows - rowCount);
          truncated = true;
        }
        if (rows.length > 0) {
          await sink.rows(rows);
          rowCount += rows.length;
        }
        if (truncated || records.length < want) break;
      }
      return { rowCount, truncated, durationMs: performance.now() - started };
    });
  }

  estimateRows(statement: GenericStatement, timeoutMs: number): Promise<number> {
    return this.plan(statement, timeoutMs, "Plan Rows");
  }

  estimateCost(statement: GenericStatement, timeoutMs: number): Promise<number> {
    return this.plan(statement, timeoutMs, "Total Cost");
  }

  /**
   * The generic plan's figure. A prepared statement outlives the transaction on the Data API's connection, so it
   * is deallocated before the transaction ends (rolled back whatever happens).
   */
  private async plan(statement: GenericStatement, timeoutMs: number, figure: PlanFigure): Promise<number> {
    return withRetyping(statement, (typed) => {
      // A name of its own: a deallocation that failed (the transaction's deadline passed) cannot fail the next one.
      const steps = estimateSteps(typed, `phigate_estimate_${randomBytes(8).toString("hex")}`);
      return this.transaction(timeoutMs, steps.settings, async (tx) => {
        for (const sql of steps.before) {
          try {
            await this.statement(tx, sql);
          } catch (error) {
            throw parameterTypeError(error) ?? error;
          }
        }
        try {
          const result = await this.statement(tx, steps.explain);
          return planEstimate(result.records?.[0]?.[0]?.stringValue, figure);
        } finally {
          for (const sql of steps.after) {
            try {
              await this.statement(tx, sql);
            } catch {
              // The transaction failed or ran out of time; the statement's own name keeps it from the next one.
            }
          }
        }
      });
    });
  }

  async loadCatalog(): Promise<Catalog> {
    return this.transaction(30_000, [], async (tx) => {
      const result = await this.statement(tx, CATALOG_SQL);
      return catalogFromRows((result.records ?? []).map((r) => r.map((f) => f.stringValue ?? null)));
    });
  }

  async close(): Promise<void> {}

  private async transaction<T>(
    timeoutMs: number,
    settings: readonly (readonly [string, string])[],
    work: (tx: Transaction) => Promise<T>,
  ): Promise<T> {
    const { client, clusterArn, secretArn, database } = this.options;
    let id: string | undefined;
    try {
      // Too little time left refuses before a transaction is begun.
      clampTimeout(timeoutMs, this.slack);
      // Each attempt ends by the invocation's budget, not only the Data API's: a begin left waiting past it would be
      // cut off by Lambda with nothing recorded and the transaction never rolled back.
      const begun = await resumeTolerant(
        () =>
          client
            .send(new BeginTransactionCommand({ resourceArn: clusterArn, secretArn, database }), {
              abortSignal: AbortSignal.timeout(callBudgetMs()),
            })
            .catch((error: unknown) => {
              // Nothing ran: the database was too slow to begin, not a statement too slow to finish.
              if (error instanceof Error && error.name === "AbortError")
                throw new UnavailableError(
                  "database_unavailable",
                  "the database did not begin a transaction in the time left; retry",
                );
              throw error;
            }),
        this.options.sleep,
      );
      // Kept before anything else can throw, so the transaction begun is rolled back whatever follows.
      id = begun.transactionId;
      if (id === undefined) throw new TypeError("the Data API returned no transaction id");
      // Clamped again once the cluster answered: the wait for a resuming cluster came out of the same budget.
      const bounded = clampTimeout(timeoutMs, this.slack);
      const signal = AbortSignal.timeout(bounded + this.slack);
      const tx = { id, signal };
      await this.statement(tx, "SET TRANSACTION READ ONLY");
      await this.statement(tx, localSettingsSql(bounded, settings));
      return await work(tx);
    } catch (error) {
      const failure = dataApiFailure(error);
      this.options.logger.warn("Data API call failed", {
        errorName: error instanceof Error ? error.name : typeof error,
        sqlstate: sqlstateOf(error),
        code: failure.code,
      });
      throw failure;
    } finally {
      if (id !== undefined) await this.rollback(id);
    }
  }

  /** The statement with `:pN` placeholders, string values cast to the types PostgreSQL infers for them. */
  private async typedStatement(tx: Transaction, sql: string, params: readonly SqlParam[]) {
    const types = needsParameterTypes(params)
      ? await inferParameterTypes((text) => this.statement(tx, text), sql)
      : [];
    return toDataApiStatement(sql, params, types);
  }

  private statement(
    tx: Transaction,
    sql: string,
    parameters: SqlParameter[] = [],
  ): Promise<ExecuteStatementCommandOutput> {
    const { client, clusterArn, secretArn, database } = this.options;
    return client.send(
      new ExecuteStatementCommand({
        resourceArn: clusterArn,
        secretArn,
        database,
        transactionId: tx.id,
        sql,
        ...(parameters.length > 0 ? { parameters } : {}),
        includeResultMetadata: true,
        resultSetOptions: { decimalReturnType: "STRING", longReturnType: "STRING" },
      }),
      { abortSignal: tx.signal },
    );
  }

  private async rollback(transactionId: string): Promise<void> {
    const { client, clusterArn, secretArn } = this.options;
    try {
      // Bounded, so a slow rollback cannot spend the reserve the session's record needs; one that does not finish
      // is expired by the Data API.
      await client.send(
        new RollbackTransactionCommand({ resourceArn: clusterArn, secretArn, transactionId }),
        { abortSignal: AbortSignal.timeout(ROLLBACK_LIMIT_MS) },
      );
    } catch (error) {
      this.options.logger.warn("rollback failed; the Data API expires the transaction", {
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  }
}
