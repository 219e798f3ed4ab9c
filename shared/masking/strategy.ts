// What one masking strategy is: its rule's schema, its strictness rank, what its values are, what it keeps, its cell function, its meet.
import type * as z from "zod";
import type { ResultColumn } from "#shared/sql/types.ts";
import type { CellMasker, CellMaskerContext } from "./cell-walk.ts";
import type { CompiledDetectors } from "./detectors.ts";

/** What a strategy compiles one column's cell function for. */
export interface MaskTarget {
  /** 0-based position in the result (named in failures, never a value). */
  readonly position: number;
  readonly column: ResultColumn;
  readonly ctx: CellMaskerContext;
  /** The content detectors the plan runs over the value first (only a strategy that keeps text uses them). */
  readonly detectors: CompiledDetectors | null;
}

/** A rule of some strategy: its `strategy` name, its parameters, and the access fields every rule has. */
export type AnyRuleSchema = z.ZodType<{ readonly strategy: string }>;

/** One masking strategy; the registry (strategies.ts) holds one per name, the compiler checks each is complete. */
export interface StrategyDefinition<S extends AnyRuleSchema> {
  /** The rule in the policy file: `strategy` (its name, a literal) and its parameters, with their defaults. */
  readonly schema: S;
  /**
   * How much of the original value reaches the caller, as a rank among the strategies (higher is stricter; every
   * strategy has its own): when two rules meet, the stricter wins.
   */
  readonly rank: number;
  /** Whether masked values are text (a non-text column is then reported as `text`, `_text` for arrays). */
  readonly outputsText: boolean;
  /** What of a value reaches the caller under this rule, in words (for describing a principal's access). */
  readonly keeps: (rule: z.output<S>) => string;
  /** The cell function of a column with this rule. */
  readonly compile: (rule: z.output<S>, target: MaskTarget) => CellMasker;
  /**
   * The meet of two rules of this strategy (different parameters): a rule never less strict than either, or null
   * when they cannot be combined (the default redaction is used instead).
   */
  readonly meet: (a: z.output<S>, b: z.output<S>) => z.output<S> | null;
}

/** Declares a strategy (a typing aid: the parameters' types follow from the schema). */
export function defineStrategy<S extends AnyRuleSchema>(
  strategy: StrategyDefinition<S>,
): StrategyDefinition<S> {
  return strategy;
}
