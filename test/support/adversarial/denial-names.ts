// Checks that a denial's reasons name the protected column and the construct an adversarial statement expects.

import type { DenialNames } from "#test/support/adversarial/statements.ts";

/** The reasons that name one of `names.columns` (exactly) and one of `names.constructs` (case-insensitively). */
export function reasonsNaming(reasons: readonly string[], names: DenialNames): string[] {
  return reasons.filter(
    (reason) =>
      names.columns.some((column) => reason.includes(column)) &&
      names.constructs.some((construct) => reason.toLowerCase().includes(construct.toLowerCase())),
  );
}

/** What the reasons were expected to name, for an assertion message. */
export function describeNames(names: DenialNames, reasons: readonly string[]): string {
  return `a reason names one of ${names.columns.join(", ")} and one of ${names.constructs.join(" ")}; got: ${reasons.join(" | ")}`;
}
