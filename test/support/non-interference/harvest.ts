// Harvests the SQL statements the test suites already hold: exported corpora and SQL string literals of test files.

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseSync } from "libpg-query";
import { hostileStatement } from "#test/support/hostile-sql.ts";
import { oracleCorpus } from "#test/unit/sql/oracle-corpus.ts";
import type { Statement } from "./runner.ts";

const SQL_START =
  /^\s*\(?\s*(SELECT|WITH|VALUES|TABLE|EXPLAIN|SHOW|COPY|INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|SET|RESET|BEGIN|START|COMMIT|ROLLBACK|CALL|DO|PREPARE|EXECUTE|DEALLOCATE|GRANT|REVOKE|VACUUM|ANALYZE|LOCK|LISTEN|NOTIFY|DECLARE|FETCH|CLOSE|TRUNCATE|REFRESH|DISCARD|LOAD|CHECKPOINT|REINDEX|CLUSTER|COMMENT|SECURITY|IMPORT)\b/i;

/** Files not scanned: this harness, its tests and the generator (their SQL is a source of its own, or fixtures). */
const SKIPPED = [
  "test/support/non-interference",
  "test/support/random-sql",
  "test/unit/non-interference",
  "test/integration/non-interference.test.ts",
];

function decodeDoubleQuoted(inner: string): string | undefined {
  try {
    return JSON.parse(`"${inner.replaceAll("\\'", "'")}"`) as string;
  } catch {
    return undefined;
  }
}

function decodeTemplate(inner: string): string {
  return inner.replace(/\\(.)/g, (_, ch: string) => (ch === "n" ? "\n" : ch));
}

/** The string literals of a TypeScript source that read as SQL: `"…"`, and `` `…` `` without substitutions. */
export function sqlLiterals(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/"((?:[^"\\\n]|\\.)*)"/g)) {
    const text = decodeDoubleQuoted(m[1] ?? "");
    if (text !== undefined) found.push(text);
  }
  for (const m of source.matchAll(/`((?:[^`\\$]|\\.|\$(?!\{))*)`/g)) found.push(decodeTemplate(m[1] ?? ""));
  return found.filter((text) => text.length >= 8 && SQL_START.test(text));
}

function parses(sql: string): boolean {
  try {
    return parseSync(sql).stmts?.length === 1;
  } catch {
    return false;
  }
}

function testFiles(root: string): string[] {
  return (readdirSync(join(root, "test"), { recursive: true }) as string[])
    .map((name) => join("test", name))
    .filter((path) => path.endsWith(".ts") && !SKIPPED.some((dir) => path.startsWith(dir)))
    .sort();
}

/**
 * Every statement the suites hold, once each: the read-only oracle's corpus, 100 statements of the hostile-SQL
 * mutator, and every SQL string literal of a test file that PostgreSQL's parser accepts as one statement.
 * `root` is the repository (the current directory under vitest); libpg-query must be loaded.
 */
export function harvestedStatements(root = process.cwd()): Statement[] {
  const seen = new Set<string>();
  const out: Statement[] = [];
  const add = (category: string, sql: string): void => {
    if (seen.has(sql)) return;
    seen.add(sql);
    out.push({ source: "harvested", category, sql });
  };
  for (const { sql } of oracleCorpus()) add("oracle-corpus", sql);
  for (let i = 0; i < 100; i++) add("hostile-sql", hostileStatement(0x13, i));
  for (const path of testFiles(root)) {
    const file = relative(root, join(root, path));
    for (const sql of sqlLiterals(readFileSync(join(root, path), "utf8"))) if (parses(sql)) add(file, sql);
  }
  return out;
}
