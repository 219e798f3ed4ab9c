// One client connection of the proxy: the simple and extended query protocols, each statement one gateway request.

import { type LocalStatement, localStatement } from "#cli/proxy/local-statements.ts";
import { ProxyError } from "#cli/proxy/proxy-error.ts";
import { type SqlScan, scanSql } from "#cli/proxy/sql-scan.ts";
import { asProxyError, runStatement, type StatementResult } from "#cli/proxy/statement-runner.ts";
import { textValue } from "#cli/proxy/text-values.ts";
import { TransactionBlock } from "#cli/proxy/transaction-block.ts";
import { TEXT_OID, wireType } from "#cli/proxy/type-oids.ts";
import { backend, type FrontendMessage } from "#cli/proxy/wire-messages.ts";
import type { GatewayClient } from "#shared/gateway-client/gateway-client.ts";

/** Where a connection writes: the socket, with backpressure. */
export interface ConnectionOutput {
  /** Writes a frame; false when the socket's buffer is full (then wait for `drain`). */
  write(frame: Buffer): boolean;
  drain(): Promise<void>;
  end(): void;
}

interface Prepared {
  readonly sql: string;
  readonly scan: SqlScan;
  readonly local: LocalStatement;
  readonly paramTypes: readonly number[];
  readonly paramCount: number;
  /** A result already fetched to describe the statement (no parameters), used by its next execution. */
  prefetched?: StatementResult;
}

interface Portal {
  readonly statement: Prepared;
  readonly params: readonly (string | null)[];
  result?: StatementResult;
  done: boolean;
}

function formatsAreText(formats: readonly number[]): boolean {
  return formats.every((f) => f === 0);
}

/**
 * The protocol state of one connection: transaction status (emulated: the gateway runs each statement on its own),
 * prepared statements and portals, the error-skip of the extended protocol, and the statement running now (which
 * a CancelRequest or a disconnect aborts). Messages must be handled one at a time, in order.
 */
export class ProxyConnection {
  private readonly block = new TransactionBlock();
  private readonly statements = new Map<string, Prepared>();
  private readonly portals = new Map<string, Portal>();
  private skipping = false;
  private running: AbortController | undefined;
  private closed = false;

  constructor(
    private readonly client: GatewayClient,
    private readonly output: ConnectionOutput,
    private readonly settings: Map<string, string>,
    private readonly options: { readonly purpose?: string; readonly log?: (line: string) => void } = {},
  ) {}

  /** Aborts the statement running now (a CancelRequest). */
  cancel(): void {
    this.running?.abort(new Error("canceled"));
  }

  /** The client is gone: abort what runs and release every result. */
  close(): void {
    this.closed = true;
    this.cancel();
    for (const portal of this.portals.values()) void portal.result?.rows.return?.();
    this.portals.clear();
  }

  /** Handles one message. */
  async handle(message: FrontendMessage): Promise<void> {
    if (this.closed) return;
    if (this.skipping && message.type !== "sync" && message.type !== "terminate") return;
    try {
      switch (message.type) {
        case "query":
          return await this.simpleQuery(message.sql);
        case "parse":
          return this.parse(message.name, message.sql, message.paramTypes);
        case "bind":
          return this.bind(message);
        case "describe":
          return await this.describe(message.target, message.name);
        case "execute":
          return await this.execute(message.portal, message.maxRows);
        case "close":
          if (message.target === "S") this.dropStatement(message.name);
          else this.dropPortal(message.name);
          this.send(backend.closeComplete());
          return;
        case "sync":
          this.skipping = false;
          if (this.block.status === "I") this.dropPortals();
          this.send(backend.readyForQuery(this.block.status));
          return;
        case "flush":
          return;
        case "terminate":
          this.close();
          this.output.end();
          return;
        default:
          throw ProxyError.unsupported(`protocol message ${JSON.stringify(message.code)} is not supported`);
      }
    } catch (error) {
      this.fail(error);
      if (message.type !== "query") this.skipping = true;
    }
  }

  private send(frame: Buffer): void {
    if (!this.closed) this.output.write(frame);
  }

  private notice(message: string, detail?: string, severity = "NOTICE", code = "00000"): void {
    this.send(
      backend.report("notice", { severity, code, message, ...(detail === undefined ? {} : { detail }) }),
    );
  }

  private fail(error: unknown): void {
    this.block.failed();
    const problem = asProxyError(error);
    if (problem instanceof ProxyError) {
      this.send(
        backend.report("error", {
          severity: "ERROR",
          code: problem.sqlstate,
          message: problem.message,
          ...(problem.detail === undefined ? {} : { detail: problem.detail }),
          ...(problem.hint === undefined ? {} : { hint: problem.hint }),
        }),
      );
      return;
    }
    this.options.log?.(`phigate proxy: internal error (${(error as Error).name})`);
    this.send(
      backend.report("error", { severity: "ERROR", code: "XX000", message: "phigate proxy: internal error" }),
    );
  }

  private async simpleQuery(sql: string): Promise<void> {
    try {
      const scan = scanSql(sql);
      if (scan.empty) {
        this.send(backend.emptyQueryResponse());
      } else {
        const local = this.localOf(scan);
        if (local.kind === "gateway") {
          const result = await this.run(sql, []);
          this.send(backend.rowDescription(this.wireColumns(result)));
          this.send(backend.commandComplete(`SELECT ${await this.streamRows(result, 0)}`));
        } else {
          this.runLocal(local, true);
        }
      }
    } catch (error) {
      this.fail(error);
    }
    this.send(backend.readyForQuery(this.block.status));
  }

  private localOf(scan: SqlScan): LocalStatement {
    const local = localStatement(scan, this.settings);
    if (local.kind !== "gateway" && local.kind !== "refused" && scan.multiple)
      return { kind: "refused", error: ProxyError.unsupported("send one statement at a time") };
    return local;
  }

  private parse(name: string, sql: string, paramTypes: readonly number[]): void {
    if (name !== "" && this.statements.has(name))
      throw new ProxyError("42P05", `prepared statement "${name}" already exists`);
    this.dropStatement(name);
    const scan = scanSql(sql);
    const local = scan.empty ? ({ kind: "gateway" } as const) : this.localOf(scan);
    if (local.kind === "refused") throw local.error;
    this.statements.set(name, {
      sql,
      scan,
      local,
      paramTypes,
      paramCount: Math.max(scan.maxParam, paramTypes.length),
    });
    this.send(backend.parseComplete());
  }

  private statement(name: string): Prepared {
    const statement = this.statements.get(name);
    if (statement === undefined) throw new ProxyError("26000", `prepared statement "${name}" does not exist`);
    return statement;
  }

  private portal(name: string): Portal {
    const portal = this.portals.get(name);
    if (portal === undefined) throw new ProxyError("34000", `portal "${name}" does not exist`);
    return portal;
  }

  private bind(message: Extract<FrontendMessage, { type: "bind" }>): void {
    const statement = this.statement(message.statement);
    if (!formatsAreText(message.paramFormats) || !formatsAreText(message.resultFormats))
      throw ProxyError.unsupported(
        "binary format is not supported: values travel as text",
        "Ask your driver for text format (JDBC: binaryTransfer=false).",
      );
    if (message.params.length !== statement.paramCount)
      throw new ProxyError(
        "08P01",
        `bind message supplies ${message.params.length} parameters, but prepared statement "${message.statement}" requires ${statement.paramCount}`,
      );
    this.block.check(statement.local);
    this.dropPortal(message.portal);
    const portal: Portal = {
      statement,
      params: message.params.map((p) => (p === null ? null : p.toString("utf8"))),
      done: false,
    };
    if (statement.prefetched !== undefined && statement.paramCount === 0) {
      portal.result = statement.prefetched;
      statement.prefetched = undefined;
    }
    this.portals.set(message.portal, portal);
    this.send(backend.bindComplete());
  }

  private async describe(target: "S" | "P", name: string): Promise<void> {
    if (target === "S") {
      const statement = this.statement(name);
      this.send(
        backend.parameterDescription(
          statement.paramTypes
            .concat(
              Array.from({ length: statement.paramCount - statement.paramTypes.length }, () => TEXT_OID),
            )
            .map((oid) => (oid === 0 ? TEXT_OID : oid)),
        ),
      );
      if (statement.local.kind !== "gateway" || statement.scan.empty)
        return this.describeLocal(statement.local);
      if (statement.paramCount > 0)
        throw ProxyError.unsupported(
          "describing a prepared statement's result before its parameters are bound is not supported: the gateway learns a result's columns by running the statement",
          "Bind the parameters and describe the portal (drivers do so for a query they execute).",
        );
      statement.prefetched ??= await this.run(statement.sql, []);
      this.send(backend.rowDescription(this.wireColumns(statement.prefetched)));
      return;
    }
    const portal = this.portal(name);
    if (portal.statement.local.kind !== "gateway" || portal.statement.scan.empty)
      return this.describeLocal(portal.statement.local);
    const result = await this.started(portal);
    this.send(backend.rowDescription(this.wireColumns(result)));
  }

  private describeLocal(local: LocalStatement): void {
    if (local.kind === "show")
      this.send(backend.rowDescription([{ name: local.name, type: { oid: TEXT_OID, size: -1 } }]));
    else this.send(backend.noData());
  }

  private async execute(name: string, maxRows: number): Promise<void> {
    const portal = this.portal(name);
    const statement = portal.statement;
    if (statement.scan.empty) return void this.send(backend.emptyQueryResponse());
    if (statement.local.kind !== "gateway") {
      if (portal.done) return void this.send(backend.commandComplete("SELECT 0"));
      portal.done = true;
      return this.runLocal(statement.local, false);
    }
    if (portal.done) return void this.send(backend.commandComplete("SELECT 0"));
    const result = await this.started(portal);
    const sent = await this.streamRows(result, Math.max(maxRows, 0));
    if (maxRows > 0 && sent === maxRows) return void this.send(backend.portalSuspended());
    portal.done = true;
    this.send(backend.commandComplete(`SELECT ${sent}`));
  }

  private async started(portal: Portal): Promise<StatementResult> {
    this.block.check({ kind: "gateway" });
    portal.result ??= await this.run(portal.statement.sql, portal.params);
    return portal.result;
  }

  private async run(sql: string, params: readonly (string | null)[]): Promise<StatementResult> {
    this.block.check({ kind: "gateway" });
    const controller = new AbortController();
    this.running = controller;
    try {
      return await runStatement(
        this.client,
        { sql, params },
        {
          signal: controller.signal,
          notice: (message, detail) => this.notice(message, detail),
          ...(this.options.purpose === undefined ? {} : { purpose: this.options.purpose }),
        },
      );
    } finally {
      if (this.running === controller) this.running = undefined;
    }
  }

  private wireColumns(result: StatementResult): { name: string; type: ReturnType<typeof wireType> }[] {
    return result.columns.map((c) => ({ name: c.name, type: wireType(c.type) }));
  }

  /** Sends up to `limit` rows (0: all) as DataRows, waiting for the socket when it is full; returns how many. */
  private async streamRows(result: StatementResult, limit: number): Promise<number> {
    const controller = new AbortController();
    this.running = controller;
    const types = result.columns.map((c) => c.type);
    let sent = 0;
    try {
      while (limit === 0 || sent < limit) {
        if (controller.signal.aborted || this.closed)
          throw new ProxyError("57014", "canceling statement due to user request");
        const next = await result.rows.next();
        if (next.done === true) break;
        const frame = backend.dataRow(next.value.map((v, i) => textValue(v, types[i] ?? "text")));
        sent++;
        if (!this.output.write(frame)) await this.output.drain();
      }
      return sent;
    } catch (error) {
      void result.rows.return?.();
      throw error;
    } finally {
      if (this.running === controller) this.running = undefined;
    }
  }

  private runLocal(local: LocalStatement, simple: boolean): void {
    this.block.check(local);
    switch (local.kind) {
      case "begin":
      case "commit":
      case "rollback":
      case "savepoint": {
        const answer = this.block.apply(local);
        if (answer.warning !== undefined)
          this.notice(answer.warning.message, undefined, "WARNING", answer.warning.code);
        return void this.send(backend.commandComplete(answer.tag));
      }
      case "set":
        if (local.parameter !== undefined) {
          this.settings.set(local.parameter[0], local.parameter[1]);
          this.send(backend.parameterStatus(local.parameter[0], local.parameter[1]));
        }
        return void this.send(backend.commandComplete(local.tag));
      case "show":
        if (simple)
          this.send(backend.rowDescription([{ name: local.name, type: { oid: TEXT_OID, size: -1 } }]));
        this.send(backend.dataRow([local.value]));
        return void this.send(backend.commandComplete("SHOW"));
      case "discard":
        for (const name of [...this.statements.keys()]) this.dropStatement(name);
        this.dropPortals();
        return void this.send(backend.commandComplete(local.tag));
      case "refused":
        throw local.error;
      case "gateway":
        throw new ProxyError("XX000", "phigate proxy: internal error");
    }
  }

  private dropPortal(name: string): void {
    const portal = this.portals.get(name);
    if (portal === undefined) return;
    void portal.result?.rows.return?.();
    this.portals.delete(name);
  }

  private dropStatement(name: string): void {
    void this.statements.get(name)?.prefetched?.rows.return?.();
    this.statements.delete(name);
  }

  private dropPortals(): void {
    for (const name of [...this.portals.keys()]) this.dropPortal(name);
  }
}
