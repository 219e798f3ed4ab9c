// The adversarial statements of issue 13 (protected values are opaque): every class of the opacity spec's deny list
// and the allowed forms that must keep working, each restricted to patients 1..ADVERSARIAL_PATIENTS.

import { KEPT_STATEMENTS } from "#test/support/adversarial/allowed.ts";
import { CLAUSE_STATEMENTS } from "#test/support/adversarial/clauses.ts";
import { CATALOG_STATEMENTS } from "#test/support/adversarial/extras.ts";
import { ORACLE_STATEMENTS } from "#test/support/adversarial/oracles.ts";
import { OUTPUT_STATEMENTS } from "#test/support/adversarial/output.ts";
import { PREDICATE_STATEMENTS } from "#test/support/adversarial/predicates.ts";
import type { AdversarialStatement } from "#test/support/adversarial/types.ts";

export { ADVERSARIAL_PATIENTS } from "#test/support/adversarial/build.ts";
export {
  FAILING_PLAIN_STATEMENTS,
  FAILING_PROTECTED_STATEMENTS,
  PGLITE_ONLY_STATEMENTS,
  SERVER_SETUP_SQL,
  SERVER_STATEMENTS,
  SERVER_VIEWS,
} from "#test/support/adversarial/extras.ts";
export {
  ISSUE_13_CYCLE,
  ISSUE_13_CYCLE_FEW,
  ISSUE_13_PREDICATE_SPELLING,
  ISSUE_13_UNION,
  TEN_ERRORS_CASE,
} from "#test/support/adversarial/reproducers.ts";
export type {
  AdversarialOutcome,
  AdversarialStatement,
  DenialNames,
} from "#test/support/adversarial/types.ts";

/** Every statement of the suite (valid on PGlite and PostgreSQL 15 alike). */
export const ADVERSARIAL_STATEMENTS: readonly AdversarialStatement[] = [
  ...OUTPUT_STATEMENTS,
  ...PREDICATE_STATEMENTS,
  ...CLAUSE_STATEMENTS,
  ...ORACLE_STATEMENTS,
  ...KEPT_STATEMENTS,
  ...CATALOG_STATEMENTS,
];
