// Statements the proxy answers itself (transaction brackets, harmless settings, SHOW) or refuses as dishonest over it.

import { ProxyError } from "#cli/proxy/proxy-error.ts";
import type { SqlScan } from "#cli/proxy/sql-scan.ts";

/** What the proxy does with a statement before (or instead of) the gateway. */
export type LocalStatement =
  /** Not the proxy's business: one `POST /v1/queries`. */
  | { readonly kind: "gateway" }
  | { readonly kind: "begin" }
  | { readonly kind: "commit" }
  | { readonly kind: "rollback" }
  /** SAVEPOINT, RELEASE, ROLLBACK TO: no-ops inside a transaction of reads. */
  | {
      readonly kind: "savepoint";
      readonly tag: "SAVEPOINT" | "RELEASE" | "ROLLBACK";
      readonly rollback: boolean;
    }
  /** A setting the proxy already honours (or records, for application_name). */
  | { readonly kind: "set"; readonly tag: "SET" | "RESET"; readonly parameter?: readonly [string, string] }
  | { readonly kind: "show"; readonly name: string; readonly value: string }
  /** DISCARD ALL, DEALLOCATE ALL: forget this connection's prepared statements. */
  | { readonly kind: "discard"; readonly tag: string }
  | { readonly kind: "refused"; readonly error: ProxyError };

const ONE_STATEMENT = "each statement runs on its own through the gateway's API";

function refused(message: string, hint?: string): LocalStatement {
  return { kind: "refused", error: ProxyError.unsupported(message, hint) };
}

function unquote(value: string): string {
  const v = value.trim().replace(/;+\s*$/, "");
  if (/^'.*'$/s.test(v)) return v.slice(1, -1).replace(/''/g, "'");
  if (/^".*"$/s.test(v)) return v.slice(1, -1);
  return v;
}

/** Refuses an isolation level whose snapshot would have to span statements. */
function isolationProblem(words: readonly string[]): LocalStatement | undefined {
  const at = words.indexOf("isolation");
  if (at < 0 || words[at + 1] !== "level") return undefined;
  const level = words[at + 2];
  if (level === "read") return undefined;
  return refused(
    `${ONE_STATEMENT}, so no snapshot spans statements: REPEATABLE READ and SERIALIZABLE transactions are refused`,
    "Use READ COMMITTED (the default): for reads it gives the same results statement by statement.",
  );
}

/** Settings a client may set to the value the proxy already has (value check → accepted). */
const SETTABLE: Readonly<Record<string, (value: string) => boolean>> = {
  application_name: () => true,
  client_encoding: (v) => /^(utf-?8|unicode)$/i.test(v),
  names: (v) => /^(utf-?8|unicode)$/i.test(v),
  datestyle: (v) => /\biso\b/i.test(v),
  timezone: (v) => /^(utc|gmt|etc\/utc|z|zulu|\+?0+(:00)?)$/i.test(v),
  intervalstyle: (v) => /^iso_8601$/i.test(v),
  extra_float_digits: (v) => /^-?[0-9]+$/.test(v),
  standard_conforming_strings: (v) => /^(on|true|1)$/i.test(v),
  bytea_output: (v) => /^hex$/i.test(v),
  default_transaction_isolation: (v) => /^read committed$/i.test(v),
  default_transaction_read_only: () => true,
  transaction_read_only: () => true,
};

function setStatement(scan: SqlScan): LocalStatement {
  const words = scan.words;
  if (words[1] === "transaction" || (words[1] === "session" && words[2] === "characteristics"))
    return isolationProblem(words) ?? { kind: "set", tag: "SET" };
  const text = scan.text.replace(/;+\s*$/, "");
  const timeZone = /^set\s+(?:session\s+|local\s+)?time\s+zone\s+(.+)$/is.exec(text);
  const match =
    timeZone ?? /^set\s+(?:session\s+|local\s+)?([A-Za-z_.]+)\s*(?:=|\s+to\s+)\s*(.+)$/is.exec(text);
  const name = timeZone === null ? (match?.[1] ?? "").toLowerCase() : "timezone";
  const value = unquote((timeZone === null ? match?.[2] : match?.[1]) ?? "");
  const accepts = SETTABLE[name];
  if (match === null || accepts === undefined) {
    return refused(
      `SET ${name || "…"} is not supported: ${ONE_STATEMENT}, in a session whose settings and limits come from the policy`,
    );
  }
  if (!accepts(value))
    return refused(
      `SET ${name} TO ${JSON.stringify(value)} is not supported: the proxy's value stays (SHOW ${name === "names" ? "client_encoding" : name})`,
    );
  return name === "application_name"
    ? { kind: "set", tag: "SET", parameter: ["application_name", value] }
    : { kind: "set", tag: "SET" };
}

/**
 * Decides what the proxy does with one statement from its leading words. Transaction brackets are accepted: the
 * gateway runs every statement read-only on its own, and at READ COMMITTED (the default) a transaction of reads
 * gives the same results statement by statement. What would need state across statements on one server
 * connection (a snapshot, COPY, SQL-level cursors and prepared statements, LISTEN) is refused with the reason.
 * `settings` answers SHOW.
 */
export function localStatement(scan: SqlScan, settings: ReadonlyMap<string, string>): LocalStatement {
  const [first, second, third] = scan.words;
  switch (first) {
    case "begin":
    case "start":
      if (first === "start" && second !== "transaction") return { kind: "gateway" };
      return isolationProblem(scan.words) ?? { kind: "begin" };
    case "commit":
    case "end":
      if (second === "prepared") return refused("two-phase commit is not supported");
      return { kind: "commit" };
    case "abort":
      return { kind: "rollback" };
    case "rollback":
      if (second === "prepared") return refused("two-phase commit is not supported");
      if (second === "to") return { kind: "savepoint", tag: "ROLLBACK", rollback: true };
      return { kind: "rollback" };
    case "savepoint":
      return { kind: "savepoint", tag: "SAVEPOINT", rollback: false };
    case "release":
      return { kind: "savepoint", tag: "RELEASE", rollback: false };
    case "prepare":
      if (second === "transaction") return refused("two-phase commit is not supported");
      return refused(
        `SQL-level PREPARE is not supported: ${ONE_STATEMENT}`,
        "Use your driver's prepared statements (the extended query protocol), which the proxy supports.",
      );
    case "execute":
      return refused(
        `SQL-level EXECUTE is not supported: ${ONE_STATEMENT}`,
        "Use your driver's prepared statements (the extended query protocol), which the proxy supports.",
      );
    case "deallocate":
      if (second === "all" || (second === "prepare" && third === "all"))
        return { kind: "discard", tag: "DEALLOCATE ALL" };
      return refused("SQL-level DEALLOCATE is not supported");
    case "discard":
      return { kind: "discard", tag: `DISCARD ${(second ?? "").toUpperCase()}` };
    case "copy":
      return refused(
        `COPY is not supported: ${ONE_STATEMENT}, which answers a query's rows, never a COPY stream`,
        "Use SELECT; large results are streamed.",
      );
    case "declare":
    case "fetch":
    case "move":
    case "close":
      return refused(
        `SQL-level cursors are not supported: ${ONE_STATEMENT}, so a cursor cannot outlive its statement`,
        "Run the SELECT itself: its rows are streamed, and drivers' row-limited fetches within one statement (node-postgres cursors, JDBC setFetchSize) work.",
      );
    case "listen":
    case "unlisten":
    case "notify":
      return refused(
        `${first.toUpperCase()} is not supported: the gateway answers statements, not notifications`,
      );
    case "set":
      return setStatement(scan);
    case "reset":
      return { kind: "set", tag: "RESET" };
    case "show": {
      const name = second === "time" && third === "zone" ? "timezone" : (second ?? "");
      const value = settings.get(name);
      if (value === undefined) return refused(`SHOW ${name} is not supported`);
      return { kind: "show", name, value };
    }
    default:
      return { kind: "gateway" };
  }
}
