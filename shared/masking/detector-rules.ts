// Policy-facing zod schemas of the content detectors: which kinds run, the MRN pattern, the marker per kind.
import * as z from "zod";
import { checkSafePattern } from "./safe-pattern.ts";

/** The kinds of content the detectors find in free text. */
export const detectorKindSchema = z.enum(["ssn", "phone", "email", "mrn", "date"]);

/** Every detector kind, in the order spans are preferred when two start at the same place. */
export const DETECTOR_KINDS = detectorKindSchema.options;

/** The marker that replaces a detected span, by kind, unless the policy says otherwise. */
export const DEFAULT_DETECTOR_REPLACEMENTS: Readonly<Record<DetectorKind, string>> = {
  ssn: "[SSN]",
  phone: "[PHONE]",
  email: "[EMAIL]",
  mrn: "[MRN]",
  date: "[DATE]",
};

const replacementSchema = z.string().min(1).max(32);

/** The detector configuration's fields (the policy's detector section adds its columns). */
export const detectorConfigShape = z.strictObject({
  kinds: z.array(detectorKindSchema).min(1).default(["ssn", "phone", "email", "date"]),
  mrnPattern: z.string().min(1).max(200).optional(),
  replacements: z
    .strictObject({
      ssn: replacementSchema.optional(),
      phone: replacementSchema.optional(),
      email: replacementSchema.optional(),
      mrn: replacementSchema.optional(),
      date: replacementSchema.optional(),
    })
    .default({}),
});

/** Checks a detector configuration: `mrn` needs a pattern, and the pattern must be safe. */
export function checkDetectorConfig(
  config: { kinds: readonly DetectorKind[]; mrnPattern?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (config.kinds.includes("mrn") && config.mrnPattern === undefined) {
    ctx.addIssue({ code: "custom", path: ["mrnPattern"], message: "the mrn detector needs mrnPattern" });
  }
  if (config.mrnPattern !== undefined) {
    const problem = checkSafePattern(config.mrnPattern);
    if (problem !== null) ctx.addIssue({ code: "custom", path: ["mrnPattern"], message: problem });
  }
}

/**
 * Content detector configuration: which kinds run (default: all but `mrn`, which needs a pattern), the MRN
 * pattern (a restricted regular expression, rejected when the policy loads if it could backtrack
 * catastrophically or match the empty string) and the marker per kind.
 */
export const detectorConfigSchema = detectorConfigShape.superRefine(checkDetectorConfig);

/** A detector kind. */
export type DetectorKind = z.output<typeof detectorKindSchema>;
/** Detector configuration after parsing. */
export type DetectorConfig = z.output<typeof detectorConfigSchema>;
