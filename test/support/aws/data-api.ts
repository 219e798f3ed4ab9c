// RDS Data API stand-in (REST-JSON) over a real PostgreSQL server: BeginTransaction, ExecuteStatement,
// CommitTransaction and RollbackTransaction with pinned transactions, `:name` parameters, typed Fields and JDBC
// column metadata. Pinned to the Aurora user guide's "Using the Amazon RDS Data API" (limits: 1 MiB per response,
// 64 KB per row, 45 s per call unless continueAfterTimeout, transactions expire after 3 minutes without a call),
// "Troubleshooting Amazon RDS Data API issues" (error messages: "Transaction <id> is not found", "Packet for query is too
// large", "Database response exceeded size limit") and "Scaling to Zero ACUs with automatic pause and resume"
// (DatabaseResumingException while a paused instance resumes); the RDS Data API reference for shapes and error names.
// Known gaps: passwords are not checked (the server trusts 127.0.0.1); values are bound with casts that reproduce the
// driver's parameter types rather than through the JDBC driver itself.

import { randomBytes } from "node:crypto";
import type { SqlParameter } from "@aws-sdk/client-rds-data";
import pg from "pg";
import { bindNamed, columnMetadata, fieldOf } from "./data-api-sql.ts";
import {
  jsonBody,
  jsonResponse,
  type LoopbackService,
  type ServiceCall,
  ServiceError,
  type WireResponse,
} from "./service.ts";
import type { ResolvedStack } from "./template.ts";

const bad = (message: string): ServiceError => new ServiceError(400, "BadRequestException", message);

/** Reads a secret's value (the Secrets Manager stand-in). */
export interface SecretReader {
  secretString(arn: string): string | undefined;
  keyOf(arn: string): string | undefined;
}

/** Limits and knobs (AWS's values by default; tests may shorten the timeouts). */
export interface DataApiLimits {
  readonly callTimeoutMs: number;
  readonly transactionIdleMs: number;
  readonly maxResponseBytes: number;
  readonly maxRowBytes: number;
}

export const AWS_DATA_API_LIMITS: DataApiLimits = {
  callTimeoutMs: 45_000,
  transactionIdleMs: 180_000,
  maxResponseBytes: 1024 * 1024,
  maxRowBytes: 64 * 1024,
};

interface Transaction {
  readonly client: pg.Client;
  readonly clusterArn: string;
  timer: NodeJS.Timeout;
  busy: boolean;
}

interface Cluster {
  readonly arn: string;
  readonly httpEndpoint: boolean;
  readonly databases: ReadonlySet<string>;
}

/** The Data API stand-in. */
export class DataApiStandIn implements LoopbackService {
  readonly signingName = "rds-data";
  readonly protocol = "restJson1" as const;
  private readonly clusters = new Map<string, Cluster>();
  private readonly transactions = new Map<string, Transaction>();
  private readonly typeNames = new Map<number, string>();
  /** How many next calls fail with DatabaseResumingException (a paused Aurora Serverless v2 instance). */
  resumingCalls = 0;
  /** Statements seen (text as sent), for tests that check what ran. */
  readonly statements: string[] = [];
  /** What a statement waits for before it runs (a test holds one statement while others come in); none: none. */
  hold: ((sql: string) => Promise<void> | undefined) | undefined;

  constructor(
    stack: ResolvedStack,
    private readonly server: { host: string; port: number },
    private readonly secrets: SecretReader,
    private readonly limits: DataApiLimits = AWS_DATA_API_LIMITS,
  ) {
    for (const resource of stack.ofType("AWS::RDS::DBCluster")) {
      const p = resource.properties as { EnableHttpEndpoint?: boolean; DatabaseName?: string };
      const arn = `arn:aws:rds:${stack.target.region}:${stack.target.account}:cluster:${stack.ref(resource.logicalId)}`;
      this.clusters.set(arn, {
        arn,
        httpEndpoint: p.EnableHttpEndpoint === true,
        databases: new Set(["postgres", ...(p.DatabaseName === undefined ? [] : [p.DatabaseName])]),
      });
    }
  }

  /** Registers a cluster the stack does not own (`existingClusterArn`). */
  addCluster(arn: string, databases: readonly string[]): void {
    this.clusters.set(arn, { arn, httpEndpoint: true, databases: new Set(databases) });
  }

  /** Loads the server's type names once (the driver reports `typname`). */
  async start(adminUrl: string): Promise<void> {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ oid: number; typname: string }>(
        "SELECT oid::int AS oid, typname FROM pg_type",
      );
      for (const row of rows) this.typeNames.set(row.oid, row.typname);
    } finally {
      await client.end();
    }
  }

  /** Rolls back and closes every open transaction. */
  async close(): Promise<void> {
    for (const [id, tx] of this.transactions) {
      clearTimeout(tx.timer);
      this.transactions.delete(id);
      await tx.client.end().catch(() => undefined);
    }
  }

  /** Transactions still open (a leak check for tests). */
  get openTransactions(): number {
    return this.transactions.size;
  }

  async handle(call: ServiceCall): Promise<WireResponse> {
    const path = new URL(call.request.url, "https://rds-data.local").pathname;
    const input = jsonBody(call.request);
    const operation = {
      "/BeginTransaction": "BeginTransaction",
      "/Execute": "ExecuteStatement",
      "/CommitTransaction": "CommitTransaction",
      "/RollbackTransaction": "RollbackTransaction",
    }[path];
    if (operation === undefined)
      throw new ServiceError(404, "UnknownOperationException", `no operation at ${path}`);
    call.operation(operation);
    const clusterArn = String(input.resourceArn ?? "");
    const secretArn = String(input.secretArn ?? "");
    call.authorize(`rds-data:${operation}`, clusterArn);
    const cluster = this.clusters.get(clusterArn);
    if (cluster === undefined) throw bad(`Invalid cluster arn: ${clusterArn}`);
    if (!cluster.httpEndpoint) throw bad(`HttpEndpoint is not enabled for cluster ${clusterArn}`);
    // The Data API reads the secret with the caller's own permissions (forward access sessions).
    call.authorize("secretsmanager:GetSecretValue", secretArn);
    const keyArn = this.secrets.keyOf(secretArn);
    if (keyArn !== undefined) call.authorize("kms:Decrypt", keyArn, { "kms:ViaService": "secretsmanager" });
    const secret = this.secrets.secretString(secretArn);
    if (secret === undefined) throw bad("Error fetching secret from Secrets Manager");
    if (this.resumingCalls > 0) {
      this.resumingCalls--;
      throw new ServiceError(
        400,
        "DatabaseResumingException",
        "The database is resuming after being auto-paused. Please wait a few seconds and try again.",
      );
    }
    const credentials = JSON.parse(secret) as { username?: string; password?: string };
    switch (operation) {
      case "BeginTransaction":
        return jsonResponse(
          this.protocol,
          await this.begin(cluster, credentials, String(input.database ?? "")),
        );
      case "ExecuteStatement":
        return jsonResponse(this.protocol, await this.execute(cluster, credentials, input));
      default:
        return jsonResponse(
          this.protocol,
          await this.finish(clusterArn, String(input.transactionId ?? ""), operation === "CommitTransaction"),
        );
    }
  }

  private async connect(
    cluster: Cluster,
    credentials: { username?: string },
    database: string,
  ): Promise<pg.Client> {
    if (database !== "" && !cluster.databases.has(database)) throw bad(`Database ${database} does not exist`);
    const client = new pg.Client({
      host: this.server.host,
      port: this.server.port,
      user: credentials.username,
      database: database === "" ? "postgres" : database,
      types: { getTypeParser: () => (text: string) => text } as never,
    });
    try {
      await client.connect();
      await client.query("SET TIME ZONE 'UTC'");
    } catch (error) {
      await client.end().catch(() => undefined);
      throw bad(`could not connect: ${error instanceof Error ? error.message : String(error)}`);
    }
    client.on("error", () => undefined);
    return client;
  }

  private async begin(
    cluster: Cluster,
    credentials: { username?: string },
    database: string,
  ): Promise<unknown> {
    const client = await this.connect(cluster, credentials, database);
    await client.query("BEGIN");
    const id = randomBytes(138).toString("base64");
    this.transactions.set(id, { client, clusterArn: cluster.arn, timer: this.idleTimer(id), busy: false });
    return { transactionId: id };
  }

  private idleTimer(id: string): NodeJS.Timeout {
    const timer = setTimeout(() => void this.drop(id), this.limits.transactionIdleMs);
    timer.unref();
    return timer;
  }

  private async drop(id: string): Promise<void> {
    const tx = this.transactions.get(id);
    if (tx === undefined) return;
    clearTimeout(tx.timer);
    this.transactions.delete(id);
    await tx.client.end().catch(() => undefined);
  }

  private transaction(clusterArn: string, id: string): Transaction {
    const tx = this.transactions.get(id);
    if (tx === undefined || tx.clusterArn !== clusterArn)
      throw new ServiceError(404, "NotFoundException", `Transaction ${id} is not found`);
    return tx;
  }

  private async finish(clusterArn: string, id: string, commit: boolean): Promise<unknown> {
    const tx = this.transaction(clusterArn, id);
    try {
      await tx.client.query(commit ? "COMMIT" : "ROLLBACK");
    } finally {
      await this.drop(id);
    }
    return { transactionStatus: commit ? "Transaction Committed" : "Rollback Complete" };
  }

  private async execute(
    cluster: Cluster,
    credentials: { username?: string },
    input: Record<string, unknown>,
  ): Promise<unknown> {
    const sql = String(input.sql ?? "");
    if (sql.length === 0) throw bad("SQL statement is empty");
    if (input.formatRecordsAs === "JSON" && input.includeResultMetadata === true)
      throw bad("includeResultMetadata is not supported with formatRecordsAs JSON");
    this.statements.push(sql);
    await this.hold?.(sql);
    const bound = bindNamed(sql, (input.parameters ?? []) as SqlParameter[]);
    const txId = input.transactionId as string | undefined;
    const tx = txId === undefined ? undefined : this.transaction(cluster.arn, txId);
    if (tx?.busy === true) throw bad("Transaction is busy with another statement");
    const client = tx?.client ?? (await this.connect(cluster, credentials, String(input.database ?? "")));
    if (tx !== undefined) {
      clearTimeout(tx.timer);
      tx.busy = true;
    }
    let result: pg.QueryArrayResult;
    try {
      result = await this.withCallTimeout(client, input.continueAfterTimeout === true, () =>
        client.query({ text: bound.text, values: bound.values, rowMode: "array" }),
      );
    } catch (error) {
      if (txId !== undefined) await this.drop(txId);
      if (error instanceof ServiceError) throw error;
      const e = error as { message?: string; code?: string; position?: string };
      throw new ServiceError(
        400,
        "DatabaseErrorException",
        `ERROR: ${e.message ?? "error"}${e.position === undefined ? "" : `\n  Position: ${e.position}`}; SQLState: ${e.code ?? "XX000"}`,
      );
    } finally {
      if (tx !== undefined) {
        tx.busy = false;
        if (this.transactions.has(txId as string)) tx.timer = this.idleTimer(txId as string);
      }
      if (tx === undefined) await client.end().catch(() => undefined);
    }
    return this.response(result, input);
  }

  private async withCallTimeout<T>(
    client: pg.Client,
    continueAfter: boolean,
    run: () => Promise<T>,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const pid = (client as unknown as { processID?: number }).processID;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (!continueAfter && pid !== undefined) {
          const admin = new pg.Client({
            host: this.server.host,
            port: this.server.port,
            user: "postgres",
            database: "postgres",
          });
          void admin
            .connect()
            .then(() => admin.query("SELECT pg_cancel_backend($1)", [pid]))
            .catch(() => undefined)
            .finally(() => void admin.end().catch(() => undefined));
        }
        reject(
          new ServiceError(400, "StatementTimeoutException", "Request timed out", {
            dbConnectionId: pid ?? 0,
          }),
        );
      }, this.limits.callTimeoutMs);
    });
    try {
      return await Promise.race([run(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private response(result: pg.QueryArrayResult, input: Record<string, unknown>): unknown {
    const options = input.resultSetOptions as
      | { decimalReturnType?: string; longReturnType?: string }
      | undefined;
    const fieldOptions = {
      decimalAsString: options?.decimalReturnType !== "DOUBLE_OR_LONG",
      longAsString: options?.longReturnType === "STRING",
    };
    const fields = result.fields ?? [];
    const types = fields.map((f) => this.typeNames.get(f.dataTypeID) ?? "unknown");
    if (
      result.command !== "SELECT" &&
      result.command !== "FETCH" &&
      result.command !== "EXPLAIN" &&
      fields.length === 0
    ) {
      return { numberOfRecordsUpdated: result.rowCount ?? 0, generatedFields: [] };
    }
    const records = (result.rows as (string | null)[][]).map((row) => {
      const bytes = row.reduce((n, v) => n + (v === null ? 0 : Buffer.byteLength(v)), 0);
      if (bytes > this.limits.maxRowBytes)
        throw bad("Packet for query is too large. Max allowed is 65536 bytes.");
      return row.map((text, i) => {
        const field = fieldOf(types[i] ?? "unknown", text, fieldOptions);
        return field.blobValue === undefined
          ? field
          : { blobValue: Buffer.from(field.blobValue).toString("base64") };
      });
    });
    const body = {
      records,
      numberOfRecordsUpdated: 0,
      ...(input.includeResultMetadata === true
        ? { columnMetadata: fields.map((f, i) => columnMetadata(f.name, types[i] ?? "unknown", "")) }
        : {}),
    };
    if (Buffer.byteLength(JSON.stringify(body)) > this.limits.maxResponseBytes)
      throw bad("Database response exceeded size limit");
    return body;
  }
}
