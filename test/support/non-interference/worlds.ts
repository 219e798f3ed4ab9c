// Builds the two worlds of the non-interference test: A = the synthetic EHR, B = A with every protected value replaced.

import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { ColumnSpec } from "#tools/ehr/columns.ts";
import { ENCOUNTER_COLUMNS, MEDICATION_COLUMNS, PATIENT_COLUMNS } from "#tools/ehr/columns.ts";
import type { EncounterRow } from "#tools/ehr/encounters.ts";
import { generateAnnotatedEncounters, generateMedications, generatePatients } from "#tools/ehr/generate.ts";
import type { MedicationRow } from "#tools/ehr/medications.ts";
import type { NoteSpan } from "#tools/ehr/notes.ts";
import type { EhrOptions } from "#tools/ehr/options.ts";
import type { PatientRow } from "#tools/ehr/patients.ts";
import { type ProtectedColumn, type Protection, protectionFor } from "./protection.ts";
import { type DomainRule, ImageDomain, type SpanForm, spanForm, type ValueKind } from "./value-images.ts";

/** The rows of the three demo tables. */
export interface EhrRows {
  readonly patients: readonly PatientRow[];
  readonly encounters: readonly EncounterRow[];
  readonly medications: readonly MedicationRow[];
}

/** Whole protected values of A and their images in B, by column name (for lookup literals). */
export interface LiteralImages {
  /** Column name → (A value as a literal would spell it → B value). */
  readonly byColumn: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Any protected column → the image, when every column that holds the value maps it the same way. */
  readonly any: ReadonlyMap<string, string>;
  /** Names of demo columns that are protected nowhere (a lookup on them is never translated). */
  readonly unprotectedNames: ReadonlySet<string>;
}

/** The two worlds and what the harness needs to know about them. */
export interface WorldPair {
  readonly a: EhrRows;
  readonly b: EhrRows;
  /** World A's planted-PHI manifest. */
  readonly spans: readonly NoteSpan[];
  readonly protection: Protection;
  readonly literals: LiteralImages;
  /** Schema statements both worlds run after the demo DDL (identical in A and B). */
  readonly schemaAdjustments: readonly string[];
  /** One line per value domain: name, kind, A values, the rules it keeps. */
  readonly summary: readonly string[];
}

/** Options of {@link buildWorlds}. */
export interface WorldOptions {
  readonly policy: LoadedPolicy;
  /** The principal whose masking the worlds follow (its rules merged into the policy's). */
  readonly principalId: string;
  readonly ehr: EhrOptions & { readonly seed: number };
  /** Seeds the images (B). */
  readonly imageSeed: number;
  /** The year the gateway's generalizers see as "now" (birth-year buckets). */
  readonly currentYear: number;
}

type Table = keyof EhrRows;
type AnyRow = Record<string, unknown>;

function rowsOf(rows: EhrRows, table: Table): readonly AnyRow[] {
  return rows[table] as unknown as readonly AnyRow[];
}

interface DemoColumn {
  readonly table: Table;
  readonly name: string;
  readonly type: ColumnSpec<AnyRow>["type"];
  readonly kind: ValueKind | "int" | "notes";
  readonly allowed?: readonly string[];
}

const KINDS: Readonly<Record<string, DemoColumn["kind"]>> = {
  "patients.mrn": "mrn",
  "patients.ssn": "ssn",
  "patients.first_name": "name",
  "patients.last_name": "name",
  "patients.dob": "date",
  "patients.sex": "enum",
  "patients.zip": "zip",
  "patients.phone": "phone",
  "patients.email": "email",
  "encounters.admitted_at": "timestamp",
  "encounters.discharged_at": "timestamp",
  "encounters.notes": "notes",
  "medications.started_at": "date",
};

function demoColumns(): DemoColumn[] {
  const tables: [Table, readonly ColumnSpec<never>[]][] = [
    ["patients", PATIENT_COLUMNS as readonly ColumnSpec<never>[]],
    ["encounters", ENCOUNTER_COLUMNS as readonly ColumnSpec<never>[]],
    ["medications", MEDICATION_COLUMNS as readonly ColumnSpec<never>[]],
  ];
  return tables.flatMap(([table, specs]) =>
    specs.map(({ name, type }) => {
      const kind = KINDS[`${table}.${name}`] ?? (type === "int4" ? "int" : "text");
      return {
        table,
        name,
        type,
        kind,
        ...(kind === "enum" ? { allowed: ["F", "M", "X"] } : {}),
      };
    }),
  );
}

/** The domain a column's values belong to: one per kind, so a value has one image wherever it appears. */
function domainName(column: DemoColumn): string {
  if (column.kind === "text" || column.kind === "enum")
    return `${column.kind}:${column.table}.${column.name}`;
  if (column.kind === "notes") return `text:${column.table}.${column.name}`;
  return column.kind;
}

function domainKind(column: DemoColumn): ValueKind {
  if (column.kind === "int")
    throw new Error(`public.${column.table}.${column.name}: the harness has no images for integer columns`);
  return column.kind === "notes" ? "text" : column.kind;
}

function generateRows(options: EhrOptions): { rows: EhrRows; spans: NoteSpan[] } {
  const patients = [...generatePatients(options)].flat();
  const encounters: EncounterRow[] = [];
  const spans: NoteSpan[] = [];
  for (const batch of generateAnnotatedEncounters(options)) {
    encounters.push(...batch.rows);
    spans.push(...batch.spans);
  }
  const medications = [...generateMedications(options)].flat();
  return { rows: { patients, encounters, medications }, spans };
}

/** How the values of one protected column of the worlds are mapped. */
interface ColumnPlan {
  readonly column: DemoColumn;
  readonly protectedColumn: ProtectedColumn;
  /** Whole-value images (rule columns); undefined for a detector-only column (its spans are mapped). */
  readonly domain: ImageDomain | undefined;
}

/**
 * Builds A (the generated EHR) and B (A with every protected value replaced by its image). Protected columns
 * and what their masking shows come from the policy (`protectionFor`): a rule column's values are mapped whole;
 * a detector-only column (the notes) keeps its text and has each planted value of a detected kind replaced by
 * the image of that value in its domain (the patient's own SSN in a note becomes the image of that SSN). Every
 * other column is identical in A and B. Throws for what it cannot map (an unknown strategy or target, a rule
 * on an integer column, a detector column without a manifest) rather than building a weaker pair.
 */
export function buildWorlds(options: WorldOptions): WorldPair {
  const protection = protectionFor(options.policy, options.principalId);
  const { rows, spans } = generateRows(options.ehr);
  const columns = demoColumns();
  const byKey = new Map(columns.map((c) => [`public.${c.table}.${c.name}`, c]));

  const plans: ColumnPlan[] = [];
  const domainRules = new Map<
    string,
    { kind: ValueKind; rules: DomainRule[]; allowed?: readonly string[] }
  >();
  const domainOf = (name: string, kind: ValueKind, allowed?: readonly string[]) => {
    let entry = domainRules.get(name);
    if (entry === undefined) {
      entry = { kind, rules: [], ...(allowed === undefined ? {} : { allowed }) };
      domainRules.set(name, entry);
    }
    return entry;
  };
  const semanticDomains = new Map<string, string>();
  const pending: { column: DemoColumn; protectedColumn: ProtectedColumn; domain: string | undefined }[] = [];
  for (const protectedColumn of protection.columns.values()) {
    const column = byKey.get(protectedColumn.key);
    if (column === undefined) continue;
    if (protectedColumn.rule !== undefined) {
      const name = domainName(column);
      domainOf(name, domainKind(column), column.allowed).rules.push({
        column: protectedColumn.key,
        rule: protectedColumn.rule,
      });
      const seen = semanticDomains.get(protectedColumn.semanticType);
      if (seen !== undefined && seen !== name)
        throw new Error(
          `semantic type ${protectedColumn.semanticType} spans value domains ${seen} and ${name}`,
        );
      semanticDomains.set(protectedColumn.semanticType, name);
      pending.push({ column, protectedColumn, domain: name });
    } else {
      if (column.kind !== "notes")
        throw new Error(`${protectedColumn.key}: a detector column without a planted-value manifest`);
      for (const kind of protectedColumn.detectorKinds ?? []) domainOf(kind, kind);
      pending.push({ column, protectedColumn, domain: undefined });
    }
  }
  const domains = new Map<string, ImageDomain>();
  for (const [name, entry] of domainRules) {
    domains.set(
      name,
      new ImageDomain(name, entry.kind, entry.rules, options.imageSeed, options.currentYear, entry.allowed),
    );
  }
  for (const p of pending)
    plans.push({ ...p, domain: p.domain === undefined ? undefined : domains.get(p.domain) });

  const detectorOnly = plans.find((p) => p.domain === undefined);
  const detected = new Set(detectorOnly?.protectedColumn.detectorKinds ?? []);
  const spanForms = new Map<NoteSpan, SpanForm>();
  for (const plan of plans) {
    if (plan.domain === undefined) continue;
    for (const row of rowsOf(rows, plan.column.table)) {
      const value = row[plan.column.name];
      if (typeof value === "string") plan.domain.register(value);
    }
  }
  if (detectorOnly !== undefined) {
    for (const span of spans) {
      if (span.kind === "decoy" || !detected.has(span.kind)) continue;
      const form = spanForm(span.kind, span.variant, span.value);
      spanForms.set(span, form);
      domains.get(span.kind)?.register(form.canonical, form.check);
    }
  }

  const b = mapRows(rows, plans, spans, spanForms, domains);
  checkSameLayout(rows, b);
  return {
    a: rows,
    b,
    spans,
    protection,
    literals: literalImages(rows, b, plans, columns),
    schemaAdjustments: plans.some((p) => p.column.name === "admitted_at" || p.column.name === "discharged_at")
      ? // B's admission and discharge times are drawn independently (their order is not what a year shows).
        // (PostgreSQL 15 names that CHECK encounters_check, later versions after the column.)
        [
          "ALTER TABLE encounters DROP CONSTRAINT IF EXISTS encounters_discharged_at_check",
          "ALTER TABLE encounters DROP CONSTRAINT IF EXISTS encounters_check",
        ]
      : [],
    summary: summarize(domains, plans, spanForms),
  };
}

function mapRows(
  rows: EhrRows,
  plans: readonly ColumnPlan[],
  spans: readonly NoteSpan[],
  spanForms: ReadonlyMap<NoteSpan, SpanForm>,
  domains: ReadonlyMap<string, ImageDomain>,
): EhrRows {
  const notesOf = new Map<number, NoteSpan[]>();
  for (const span of spans) {
    if (!spanForms.has(span)) continue;
    const list = notesOf.get(span.encounterId) ?? [];
    list.push(span);
    notesOf.set(span.encounterId, list);
  }
  const mapTable = <Row>(table: Table, source: readonly Row[]): Row[] => {
    const tablePlans = plans.filter((p) => p.column.table === table);
    if (tablePlans.length === 0) return [...source];
    return source.map((row) => {
      const out = { ...(row as AnyRow) };
      for (const plan of tablePlans) {
        const value = out[plan.column.name];
        if (typeof value !== "string") continue;
        if (plan.domain !== undefined) out[plan.column.name] = plan.domain.image(value);
        else
          out[plan.column.name] = rewriteNote(value, notesOf.get(out.id as number) ?? [], spanForms, domains);
      }
      return out as Row;
    });
  };
  return {
    patients: mapTable("patients", rows.patients),
    encounters: mapTable("encounters", rows.encounters),
    medications: mapTable("medications", rows.medications),
  };
}

/**
 * Every value of B is as long in bytes as A's, so both databases lay their rows out identically (same pages, same
 * positions): an unordered scan returns rows in the same order, and a difference in order is the gateway's doing.
 */
function checkSameLayout(a: EhrRows, b: EhrRows): void {
  for (const table of ["patients", "encounters", "medications"] as const) {
    const rowsB = rowsOf(b, table);
    rowsOf(a, table).forEach((row, i) => {
      for (const [column, value] of Object.entries(row)) {
        const other = rowsB[i]?.[column];
        const size = (v: unknown): number =>
          v === null || v === undefined ? -1 : Buffer.byteLength(String(v));
        if (size(value) !== size(other))
          throw new Error(
            `${table}.${column} of row ${i + 1}: B's value is not as long as A's (${size(value)} vs ${size(other)} bytes)`,
          );
      }
    });
  }
}

function rewriteNote(
  text: string,
  spans: readonly NoteSpan[],
  spanForms: ReadonlyMap<NoteSpan, SpanForm>,
  domains: ReadonlyMap<string, ImageDomain>,
): string {
  let out = text;
  for (const span of [...spans].sort((x, y) => y.start - x.start)) {
    const form = spanForms.get(span);
    const domain = domains.get(span.kind);
    if (form === undefined || domain === undefined) continue;
    if (out.slice(span.start, span.end) !== span.value)
      throw new Error("a manifest span does not match its note");
    out = out.slice(0, span.start) + form.render(domain.image(form.canonical)) + out.slice(span.end);
  }
  return out;
}

/** `2019-05-01T10:20:00Z` as PostgreSQL writes a timestamptz in UTC, so a literal in either spelling is found. */
function timestampSpellings(value: string): string[] {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})Z$/.exec(value);
  return m === null ? [value] : [value, `${m[1]} ${m[2]}+00`];
}

function literalImages(
  a: EhrRows,
  b: EhrRows,
  plans: readonly ColumnPlan[],
  columns: readonly DemoColumn[],
): LiteralImages {
  const byColumn = new Map<string, Map<string, string>>();
  const any = new Map<string, string>();
  const conflicts = new Set<string>();
  for (const plan of plans) {
    const { table, name } = plan.column;
    const map = byColumn.get(name) ?? new Map<string, string>();
    byColumn.set(name, map);
    const rowsA = rowsOf(a, table);
    const rowsB = rowsOf(b, table);
    rowsA.forEach((row, i) => {
      const from = row[name];
      const to = rowsB[i]?.[name];
      if (typeof from !== "string" || typeof to !== "string") return;
      const fromSpellings = timestampSpellings(from);
      const toSpellings = timestampSpellings(to);
      fromSpellings.forEach((spelling, k) => {
        const image = toSpellings[k] ?? to;
        map.set(spelling, image);
        const known = any.get(spelling);
        if (known !== undefined && known !== image) conflicts.add(spelling);
        any.set(spelling, image);
      });
    });
  }
  for (const value of conflicts) any.delete(value);
  const protectedNames = new Set(plans.map((p) => p.column.name));
  const unprotectedNames = new Set(columns.map((c) => c.name).filter((n) => !protectedNames.has(n)));
  return { byColumn, any, unprotectedNames };
}

function summarize(
  domains: ReadonlyMap<string, ImageDomain>,
  plans: readonly ColumnPlan[],
  spanForms: ReadonlyMap<NoteSpan, SpanForm>,
): string[] {
  const lines = [...domains.values()].map((d) => {
    const columns = plans.filter((p) => p.domain === d).map((p) => p.protectedColumn.key);
    const notes = [...spanForms.keys()].filter((s) => s.kind === d.name).length;
    return `${d.name} (${d.kind}): ${[...d.keys()].length} values; columns ${columns.join(", ") || "none"}; note spans ${notes}; generalize ${d.targets.join(", ") || "none"}`;
  });
  const detector = plans.find((p) => p.domain === undefined);
  if (detector !== undefined)
    lines.push(
      `${detector.protectedColumn.key}: detector column, ${spanForms.size} planted values of kinds ${(detector.protectedColumn.detectorKinds ?? []).join(", ")} mapped`,
    );
  return lines;
}
