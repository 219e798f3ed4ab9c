// Renders a dry run (explain_decision) and the readable catalog (describe) as text a model reads.

import * as z from "zod";
import type { Rendered } from "#shared/mcp/render.ts";

const dryRunSchema = z.looseObject({
  decision: z.enum(["allow", "deny", "require_approval"]),
  classification: z.looseObject({
    kind: z.string(),
    tables: z.array(z.string()),
    columns: z.array(z.string()),
    functions: z.array(z.string()),
  }),
  reasons: z.array(z.string()),
  masking: z.array(z.looseObject({ column: z.string(), rule: z.string(), strategy: z.string() })),
});

const maskingSchema = z.union([
  z.looseObject({
    kind: z.literal("rule"),
    strategy: z.string(),
    keeps: z.string(),
    lookup: z.string(),
    joinType: z.string(),
  }),
  z.looseObject({ kind: z.literal("detectors"), detects: z.array(z.string()) }),
  z.looseObject({ kind: z.literal("lineage") }),
]);

const catalogSchema = z.looseObject({
  principal: z.string().nullable(),
  policy: z.looseObject({ name: z.string() }),
  tables: z.array(
    z.looseObject({
      schema: z.string(),
      name: z.string(),
      kind: z.string(),
      columns: z.array(
        z.looseObject({ name: z.string(), type: z.string(), masking: maskingSchema.nullable() }),
      ),
    }),
  ),
  detectorKinds: z.array(z.string()),
  limits: z.looseObject({ maxRows: z.number(), statementTimeoutMs: z.number() }),
});

const DECISION_WORDS = {
  allow: "allowed: it would run at once",
  deny: "denied: it would not run",
  require_approval: "needs a human's approval before it runs",
} as const;

/** A dry run's decision, reasons, what the statement reads and the masking that would apply; undefined if unreadable. */
export function renderDryRun(body: unknown): Rendered | undefined {
  const parsed = dryRunSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const run = parsed.data;
  const c = run.classification;
  const lines = [
    `Decision: ${DECISION_WORDS[run.decision]} (nothing was executed).`,
    ...(run.reasons.length > 0 ? ["Reasons:", ...run.reasons.map((r) => `- ${r}`)] : []),
    `Statement kind: ${c.kind}; tables: ${c.tables.join(", ") || "none"}; columns: ${c.columns.join(", ") || "none"}; functions: ${c.functions.join(", ") || "none"}.`,
    run.masking.length === 0
      ? "Masking: no output column would be masked by a rule (text still goes through the detectors)."
      : "Masking of the output columns:",
    ...run.masking.map((m) => `- ${m.column}: ${m.strategy} (rule ${m.rule})`),
  ];
  return {
    text: lines.join("\n"),
    structured: {
      decision: run.decision,
      reasons: run.reasons,
      classification: c,
      masking: run.masking,
    },
    isError: false,
  };
}

function maskingText(masking: z.infer<typeof maskingSchema> | null): string {
  if (masking === null) return "returned as stored";
  switch (masking.kind) {
    case "rule": {
      const lookup =
        masking.lookup === "allow"
          ? "may be looked up by equality with a literal"
          : masking.lookup === "approval"
            ? "equality lookups need an approver"
            : "never usable in a condition";
      return `masked: ${masking.strategy}, keeps ${masking.keeps}; ${lookup}; joins only with ${masking.joinType} columns`;
    }
    case "detectors":
      return `free text: ${masking.detects.join(", ")} found in it are replaced; opaque in conditions`;
    case "lineage":
      return "masked by what it derives from (check with explain_decision)";
  }
}

/** The tables and columns the caller may read, with each column's masking; undefined if unreadable. */
export function renderCatalog(body: unknown): Rendered | undefined {
  const parsed = catalogSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const catalog = parsed.data;
  if (catalog.principal === null || catalog.tables.length === 0) {
    return {
      text: "The policy grants this identity no tables: every statement will be denied. Ask a person to check the policy.",
      structured: catalog,
      isError: false,
    };
  }
  const lines = [
    `As ${catalog.principal} (policy ${catalog.policy.name}) you may read the tables below; at most ${catalog.limits.maxRows} rows and ${catalog.limits.statementTimeoutMs} ms per statement.`,
    `Every text value no rule masks is scanned for: ${catalog.detectorKinds.join(", ")}.`,
  ];
  for (const table of catalog.tables) {
    lines.push("", `${table.schema}.${table.name} (${table.kind})`);
    for (const column of table.columns)
      lines.push(`- ${column.name} ${column.type}: ${maskingText(column.masking)}`);
  }
  return { text: lines.join("\n"), structured: catalog, isError: false };
}
