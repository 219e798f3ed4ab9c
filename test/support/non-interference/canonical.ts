// Canonical answers of the non-interference test, and the comparison of world A's with world B's.

/** What one world answered to one statement, as collected (rows of streamed results already downloaded). */
export interface RawOutcome {
  /** HTTP status of `POST /v1/queries` (599: the harness could not get an answer). */
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
  readonly body: any;
  /** Rows downloaded from the first answer's `resultUrl`, when it had one. */
  readonly streamedRows?: readonly unknown[][];
  /** The session once terminal, after approval (only for a `202`). */
  // biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
  readonly final?: any;
  /** Rows downloaded from the final result's `resultUrl`, when it had one. */
  readonly finalStreamedRows?: readonly unknown[][];
  /** Statuses ≥ 500 met on the way (decision, long-poll, download), with what they were for. */
  readonly serverErrors: readonly string[];
}

/** An answer reduced to what must be equal across worlds. */
export interface CanonicalOutcome {
  readonly status: number;
  readonly answer: unknown;
  readonly final?: unknown;
}

/** Images shorter than this are not turned back (a one-letter image would rewrite unrelated text). */
const UNMAP_MIN_LENGTH = 5;
const TOKEN = /\b([a-z][a-z0-9]{0,15})_([0-9a-f]{24})\b/g;
const IDS = /\b(ses|apr|bnd)_[0-9A-Za-z]{26}\b/g;
const ESTIMATE = /\bestimates \d+ rows\b/g;
/** A column of a type without a name (`oid:16402`, a table's row type): two server databases number them apart. */
const TYPE_OID = /^oid:\d+$/;

function result(source: unknown, rows: readonly unknown[][] | undefined): unknown {
  // biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
  const r = source as any;
  return {
    columns: r?.columns,
    rows: rows ?? r?.rows,
    rowCount: r?.rowCount,
    truncated: r?.truncated,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
function firstAnswer(status: number, body: any, streamed: readonly unknown[][] | undefined): unknown {
  if (body === undefined || body === null) return { text: "(no JSON body)" };
  if (status === 200 && body.status === "completed")
    return { status: body.status, ...(result(body, streamed) as object) };
  if (status === 202) return { status: body.status, reasons: body.approval?.reasons };
  if (body.error !== undefined) {
    return {
      error: {
        code: body.error.code,
        message: body.error.message,
        ...(body.error.details === undefined ? {} : { details: body.error.details }),
      },
    };
  }
  return { body };
}

// biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
function finalSession(session: any, streamed: readonly unknown[][] | undefined): unknown {
  if (session === undefined || session === null) return undefined;
  return {
    status: session.status,
    ...(session.error === undefined
      ? {}
      : { error: { code: session.error.code, message: session.error.message } }),
    decision: { outcome: session.decision?.outcome, reasons: session.decision?.reasons },
    ...(session.result === undefined ? {} : { result: result(session.result, streamed) }),
  };
}

/** Replaces every string leaf by `f(string)`, keeping the shape and the order of keys and array items. */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, f));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}

/**
 * The canonical form of one world's outcome: status; the answer without session and approval ids, times, expiries
 * and result links (streamed rows in place of the link); the final session after approval (status, error, decision
 * outcome and reasons, result). Inside every string: masking tokens (`mrn_3f9a…`) renamed `mrn#1`, `mrn#2` by first
 * appearance in order (rows in row order), ids replaced, the planner's estimate without its digits, unnamed type
 * OIDs without their number. `unmap` turns B's
 * translated lookup literals back into A's (the caller wrote them, so echoing them reveals nothing).
 */
export function canonicalOutcome(
  raw: RawOutcome,
  unmap: readonly { readonly from: string; readonly to: string }[] = [],
): CanonicalOutcome {
  const tokens = new Map<string, string>();
  const counters = new Map<string, number>();
  const clean = (s: string): string => {
    let out = s;
    for (const { from, to } of unmap)
      if (to.length >= UNMAP_MIN_LENGTH && out.includes(to)) out = out.replaceAll(to, from);
    out = out.replace(TOKEN, (whole, prefix: string) => {
      let name = tokens.get(whole);
      if (name === undefined) {
        const n = (counters.get(prefix) ?? 0) + 1;
        counters.set(prefix, n);
        name = `${prefix}#${n}`;
        tokens.set(whole, name);
      }
      return name;
    });
    return out.replace(IDS, "$1_…").replace(ESTIMATE, "estimates # rows").replace(TYPE_OID, "oid:…");
  };
  const answer = mapStrings(firstAnswer(raw.status, raw.body, raw.streamedRows), clean);
  const final = mapStrings(finalSession(raw.final, raw.finalStreamedRows), clean);
  return { status: raw.status, answer, ...(final === undefined ? {} : { final }) };
}

/** How two canonical outcomes differ. */
export interface Difference {
  /** `status`: different HTTP statuses; `order-only`: the same rows in another order; `body`: anything else. */
  readonly kind: "status" | "order-only" | "body";
  /** A compact description: the first differing path and both values. */
  readonly detail: string;
}

function short(value: unknown, max = 300): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (path.endsWith(".rows")) {
      const at = a.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(b[i]));
      const index = at < 0 ? Math.min(a.length, b.length) : at;
      const differing = a.filter((row, i) => JSON.stringify(row) !== JSON.stringify(b[i])).length;
      return `${path}: ${a.length} vs ${b.length} rows, ${differing} differ; first at [${index}]: A ${short(a[index])} | B ${short(b[index])}`;
    }
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && !Array.isArray(a)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b as object)])];
    for (const key of keys) {
      const d = firstDifference(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (d !== undefined) return d;
    }
  }
  return `${path}: A ${short(a)} | B ${short(b)}`;
}

function rowsOf(outcome: CanonicalOutcome): unknown[] | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: canonical answers are plain JSON
  const o = outcome as any;
  const rows = o.final?.result?.rows ?? o.answer?.rows;
  return Array.isArray(rows) ? rows : undefined;
}

function withoutRows(outcome: CanonicalOutcome): string {
  return JSON.stringify(mapRows(outcome, () => []));
}

function mapRows(outcome: CanonicalOutcome, f: (rows: unknown[]) => unknown[]): unknown {
  // biome-ignore lint/suspicious/noExplicitAny: canonical answers are plain JSON
  const o = JSON.parse(JSON.stringify(outcome)) as any;
  if (Array.isArray(o.answer?.rows)) o.answer.rows = f(o.answer.rows);
  if (Array.isArray(o.final?.result?.rows)) o.final.result.rows = f(o.final.result.rows);
  return o;
}

/**
 * Rows in a canonical order: sorted with token numbers left out, then tokens renumbered by first appearance in
 * that order (token names follow the order of appearance, so rows in another order renumber them).
 */
function sortedRows(rows: readonly unknown[]): string {
  const sorted = rows
    .map((r) => JSON.stringify(r))
    .sort((x, y) => {
      const [sx, sy] = [x.replace(/#\d+/g, "#"), y.replace(/#\d+/g, "#")];
      return sx < sy ? -1 : sx > sy ? 1 : 0;
    });
  const names = new Map<string, string>();
  const counters = new Map<string, number>();
  return sorted.join("\n").replace(/\b([a-z][a-z0-9]{0,15})#(\d+)\b/g, (whole, prefix: string) => {
    let name = names.get(whole);
    if (name === undefined) {
      const n = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, n);
      name = `${prefix}#${n}`;
      names.set(whole, name);
    }
    return name;
  });
}

/**
 * The difference between A's and B's canonical outcomes, or undefined when they are equal. Rows are compared in
 * order (order is part of the answer); when they differ only by order the difference is `order-only`, reported
 * apart so it can be judged on its own. Tokens are compared after renaming, so only their pattern counts.
 */
export function compareOutcomes(a: CanonicalOutcome, b: CanonicalOutcome): Difference | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (a.status !== b.status)
    return {
      kind: "status",
      detail: `status ${a.status} vs ${b.status}: A ${short(a.answer, 200)} | B ${short(b.answer, 200)}`,
    };
  const rowsA = rowsOf(a);
  const rowsB = rowsOf(b);
  if (rowsA !== undefined && rowsB !== undefined && withoutRows(a) === withoutRows(b)) {
    if (sortedRows(rowsA) === sortedRows(rowsB)) {
      return { kind: "order-only", detail: firstDifference(a, b, "") ?? "rows in another order" };
    }
  }
  return { kind: "body", detail: firstDifference(a, b, "") ?? "different" };
}
