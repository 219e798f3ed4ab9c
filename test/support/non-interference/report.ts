// Summaries of a non-interference run: differences by category with examples, order-only differences, 5xx.

import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { StatementRun } from "./runner.ts";

function statusOf(run: StatementRun, world: "a" | "b"): string {
  const outcome = run[world];
  // biome-ignore lint/suspicious/noExplicitAny: canonical answers are plain JSON
  const final = (outcome.final as any)?.status;
  return final === undefined ? String(outcome.status) : `${outcome.status}→${final}`;
}

/** One differing statement, compactly: source and category, the SQL (and B's copy when translated), statuses, diff. */
export function describeRun(run: StatementRun): string {
  const { statement, translated, difference } = run;
  const lines = [
    `[${statement.source} / ${statement.category}] ${difference?.kind ?? "equal"}: A ${statusOf(run, "a")}, B ${statusOf(run, "b")}`,
    `  SQL: ${statement.sql.replace(/\s+/g, " ")}${statement.params === undefined ? "" : `  params ${JSON.stringify(statement.params)}`}`,
  ];
  if (translated.replaced.length > 0)
    lines.push(`  B's literals: ${translated.replaced.map((r) => `${r.from} → ${r.to}`).join(", ")}`);
  if (difference !== undefined) lines.push(`  diff: ${difference.detail}`);
  return lines.join("\n");
}

/** What a run found, for the assertion messages and the log. */
export interface RunSummary {
  readonly differing: readonly StatementRun[];
  readonly orderOnly: readonly StatementRun[];
  readonly serverErrors: readonly string[];
  /** One line per category with differences: count and statuses. */
  readonly byCategory: readonly string[];
  readonly text: string;
}

/** Summarizes the runs; `examples` differing statements are described in full (the artifact file has them all). */
export function summarize(
  runs: readonly StatementRun[],
  header: readonly string[],
  examples = 40,
): RunSummary {
  const stable = runs.filter((r) => !r.unstable);
  const unstable = runs.filter((r) => r.unstable);
  const differing = stable.filter((r) => r.difference !== undefined && r.difference.kind !== "order-only");
  // Without an ORDER BY the rows come in the plan's order, and the plan may follow the tables' sizes, which the
  // worlds' values of other lengths change (a join over `generate_series` flipped sides once): reported, not judged.
  const ordered = (r: StatementRun): boolean => /\border\s+by\b/i.test(r.statement.sql);
  const orderOnly = stable.filter((r) => r.difference?.kind === "order-only" && ordered(r));
  const planOrder = stable.filter((r) => r.difference?.kind === "order-only" && !ordered(r));
  const serverErrors = runs.flatMap((r) =>
    r.serverErrors.map((e) => `${e}: ${r.statement.sql.replace(/\s+/g, " ").slice(0, 160)}`),
  );
  const categories = new Map<string, { total: number; differing: number }>();
  const statuses = new Map<string, Map<string, number>>();
  for (const run of runs) {
    const key = `${run.statement.source} / ${run.statement.category}`;
    const entry = categories.get(key) ?? { total: 0, differing: 0 };
    entry.total += 1;
    if (!run.unstable && run.difference !== undefined && run.difference.kind !== "order-only")
      entry.differing += 1;
    categories.set(key, entry);
    const bySource = statuses.get(run.statement.source) ?? new Map<string, number>();
    const status = statusOf(run, "a");
    bySource.set(status, (bySource.get(status) ?? 0) + 1);
    statuses.set(run.statement.source, bySource);
  }
  const statusLines = [...statuses].map(
    ([source, counts]) =>
      `  ${source}: ${[...counts]
        .sort((x, y) => y[1] - x[1])
        .map(([status, n]) => `${n} × ${status}`)
        .join(", ")}`,
  );
  const byCategory = [...categories]
    .filter(([, c]) => c.differing > 0)
    .sort((x, y) => y[1].differing - x[1].differing)
    .map(([key, c]) => `${String(c.differing).padStart(5)} / ${String(c.total).padEnd(5)} ${key}`);
  // One example per category first (the smallest statement), then more in run order.
  const firstOfCategory = new Map<string, StatementRun>();
  for (const run of differing) {
    const key = `${run.statement.source} / ${run.statement.category}`;
    const known = firstOfCategory.get(key);
    if (known === undefined || run.statement.sql.length < known.statement.sql.length)
      firstOfCategory.set(key, run);
  }
  const shown = [...new Set([...firstOfCategory.values(), ...differing])].slice(0, examples);
  const text = [
    ...header,
    "world A's answers by source:",
    ...statusLines,
    `differing statements: ${differing.length} of ${runs.length}; order-only: ${orderOnly.length} (and ${planOrder.length} without ORDER BY); 5xx: ${serverErrors.length}; not deterministic (ignored): ${unstable.length}`,
    ...(byCategory.length === 0 ? [] : ["differences by category (differing / run):", ...byCategory]),
    ...(shown.length === 0 ? [] : ["examples:", ...shown.map(describeRun)]),
    ...(orderOnly.length === 0
      ? []
      : ["order-only differences:", ...orderOnly.slice(0, 10).map(describeRun)]),
    ...(planOrder.length === 0
      ? []
      : [
          "order-only differences without ORDER BY (the plan's order):",
          ...planOrder.slice(0, 5).map(describeRun),
        ]),
    ...(unstable.length === 0
      ? []
      : ["not deterministic (differ between two runs in A):", ...unstable.slice(0, 5).map(describeRun)]),
  ].join("\n");
  return { differing, orderOnly, serverErrors, byCategory, text };
}

/** Writes every run that differs (and the summary) to `test-artifacts/<name>.txt`; answers the path. */
export async function writeArtifact(name: string, summary: RunSummary): Promise<string> {
  const dir = resolve("test-artifacts");
  await mkdir(dir, { recursive: true });
  const path = resolve(dir, `${name}.txt`);
  const all = [...summary.differing, ...summary.orderOnly].map(describeRun);
  await writeFile(path, `${summary.text}\n\nall differing statements:\n${all.join("\n")}\n`);
  return path;
}
