// The shape of an adversarial statement of the issue 13 suite: the SQL, the answer it must get, what a denial names.

/**
 * How the gateway must answer a statement: `masked` 200 with at least one masked column, `allowed` 200 with no
 * masked column, `denied` 403 `policy_denied`, `approval` 202 (and, once approved, a masked result).
 */
export type AdversarialOutcome = "masked" | "denied" | "approval" | "allowed";

/** What a denial's reason must name: one of `columns` (or the table, for whole rows) and one of `constructs`. */
export interface DenialNames {
  /** Qualified protected columns (`public.patients.ssn`) or tables (`public.patients`); any one will do. */
  readonly columns: readonly string[];
  /** Words naming the construct, matched case-insensitively; any one will do. */
  readonly constructs: readonly string[];
}

/** One adversarial statement. */
export interface AdversarialStatement {
  readonly category: string;
  readonly sql: string;
  readonly params?: readonly unknown[];
  readonly expect: AdversarialOutcome;
  /** Why this expectation (statements whose expectation the spec leaves open start with `unsure:`). */
  readonly why?: string;
  /** The statement fails at run time when executed directly (an error oracle, a failing cast). */
  readonly errors?: true;
  /** The SQL or its parameters hold protected values on purpose (lookups, guesses): their echo is not a leak. */
  readonly guess?: true;
  /** For a denial by the opacity rule: what its reason must name. Absent for denials by other rules. */
  readonly names?: DenialNames;
}
