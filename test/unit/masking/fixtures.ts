// Shared test fixtures for masking: the demo policy's masking section and hand-made output-column lineage.
import type { MaskingPlanPolicy } from "#shared/masking/plan.ts";
import { maskingPolicySchema } from "#shared/masking/rules.ts";
import type { ColumnRef, OutputColumnLineage, TableRef, TransformKind } from "#shared/sql/types.ts";

/** The demo policy's masking section, parsed. */
export const demoMasking = maskingPolicySchema.parse({
  onTransform: "strictest",
  rules: {
    "public.patients.ssn": { strategy: "partial", keepLast: 4 },
    "public.patients.mrn": { strategy: "tokenize", prefix: "mrn" },
    "public.patients.first_name": { strategy: "tokenize", prefix: "name", normalize: ["case", "whitespace"] },
    "public.patients.last_name": { strategy: "tokenize", prefix: "name", normalize: ["case", "whitespace"] },
    "public.patients.dob": { strategy: "generalize", to: "birth_year" },
    "public.patients.zip": { strategy: "generalize", to: "zip3" },
    "public.patients.phone": { strategy: "redact" },
    "public.patients.email": { strategy: "redact" },
    "public.patients.address": { strategy: "redact" },
  },
  detectors: {
    columns: ["public.encounters.notes"],
    kinds: ["ssn", "phone", "email", "mrn", "date"],
    mrnPattern: "MRN-\\d{7}",
  },
});

/** The demo policy as `planMasking` takes it, with some fields replaced. */
export function policy(overrides: Partial<MaskingPlanPolicy> = {}): MaskingPlanPolicy {
  return { ...demoMasking, ...overrides };
}

/** A `public` column reference. */
export function col(table: string, column: string, schema = "public"): ColumnRef {
  return { schema, table, column };
}

/** A `public` table reference. */
export function tab(table: string, schema = "public"): TableRef {
  return { schema, table };
}

/** A copy of one column, at `position`. */
export function copy(position: number, name: string, ...sources: ColumnRef[]): OutputColumnLineage {
  return { position, name, kind: "copy", sources, wholeRows: [], transforms: [] };
}

/** A transformed value of `sources`, at `position`. */
export function derived(
  position: number,
  name: string,
  transforms: TransformKind[],
  sources: ColumnRef[],
  wholeRows: TableRef[] = [],
): OutputColumnLineage {
  return { position, name, kind: "transform", sources, wholeRows, transforms };
}
