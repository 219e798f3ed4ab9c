// Every masking strategy by name, once: a new strategy is its file under strategies/ and one line here.

import { generalizeStrategy } from "./strategies/generalize.ts";
import { nullifyStrategy } from "./strategies/nullify.ts";
import { partialStrategy } from "./strategies/partial.ts";
import { redactStrategy } from "./strategies/redact.ts";
import { tokenizeStrategy } from "./strategies/tokenize.ts";
import type { StrategyDefinition } from "./strategy.ts";

/**
 * The strategies. The policy's rule schema, the strictness order, the masked column types and the cell functions
 * are all read from here, so a strategy cannot be known to one and missing from another: the name is the record's
 * key and must be its schema's `strategy` literal (checked below by the compiler).
 */
export const STRATEGIES = {
  redact: redactStrategy,
  partial: partialStrategy,
  tokenize: tokenizeStrategy,
  generalize: generalizeStrategy,
  nullify: nullifyStrategy,
} as const;

/** A masking strategy name. */
export type MaskingStrategy = keyof typeof STRATEGIES;

/** Each strategy's definition, with the rule type its schema produces. */
type Registry = { readonly [S in MaskingStrategy]: (typeof STRATEGIES)[S] };

/** A rule of strategy `S` after parsing. */
export type RuleOf<S extends MaskingStrategy> =
  Registry[S] extends StrategyDefinition<infer Schema>
    ? Schema["_zod"]["output"] & { readonly strategy: S }
    : never;

/** A column rule: exactly one strategy with its parameters. */
export type ColumnRule = { [S in MaskingStrategy]: RuleOf<S> }[MaskingStrategy];

// The compiler checks every key names the strategy its schema parses ("a strategy missing anywhere is a compile error").
type KeyMatchesSchema = {
  [S in MaskingStrategy]: Registry[S] extends StrategyDefinition<infer Schema>
    ? Schema["_zod"]["output"]["strategy"] extends S
      ? true
      : false
    : false;
}[MaskingStrategy];
const keysMatchSchemas: false extends KeyMatchesSchema ? never : true = true;
void keysMatchSchemas;

/** The strategies from least to most strict (by rank). */
export const STRATEGIES_BY_STRICTNESS: readonly MaskingStrategy[] = (
  Object.keys(STRATEGIES) as MaskingStrategy[]
).sort((a, b) => STRATEGIES[a].rank - STRATEGIES[b].rank);

/** A strategy's definition, typed by its name. */
export function strategyOf<S extends MaskingStrategy>(
  strategy: S,
): StrategyDefinition<Registry[S]["schema"]> {
  return STRATEGIES[strategy] as StrategyDefinition<Registry[S]["schema"]>;
}
