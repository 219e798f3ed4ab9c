// The strictness order of column rules: when two rules meet (override vs default, several sources), the stricter wins.
import type { LookupPermission } from "./rule-access.ts";
import { DEFAULT_REDACT } from "./strategies/redact.ts";
import {
  type ColumnRule,
  type MaskingStrategy,
  STRATEGIES,
  STRATEGIES_BY_STRICTNESS,
  strategyOf,
} from "./strategies.ts";

/**
 * Strategies from least to most strict, ranked by how much of the original value reaches the caller:
 * `partial` shows literal characters and the format; `generalize` shows a coarsened real value (Safe Harbor
 * level: a year, a ZIP3); `tokenize` shows no content, only equality between values; `redact` shows only
 * whether a value is present; `nullify` shows nothing. Each strategy states its rank (strategies/).
 */
export const STRATEGY_STRICTNESS: readonly MaskingStrategy[] = STRATEGIES_BY_STRICTNESS;

/** The rank of a strategy (higher is stricter). */
export function strictnessRank(strategy: MaskingStrategy): number {
  return STRATEGIES[strategy].rank;
}

/**
 * The stricter of two rules; commutative, and never less strict than either. Different strategies: the
 * higher rank wins. Same strategy, different parameters: their meet — `partial` keeps the fewer characters
 * on each side; `generalize` takes the coarser date granularity and the birth-date bucket if either asks
 * (dates vs ZIP vs age cannot be combined: `redact`); `tokenize` hashes with every normalization either
 * asks for (merging more spellings reveals less) and the prefix `tok` unless both agree; `redact` keeps a
 * shared replacement, else the default.
 */
export function stricterRule(a: ColumnRule, b: ColumnRule): ColumnRule {
  const masking = stricterMasking(a, b);
  const lookup = stricterLookup(a.lookup, b.lookup);
  const type = a.type === b.type ? a.type : undefined;
  if (masking.lookup === lookup && masking.type === type) return masking;
  const { lookup: _lookup, type: _type, ...rest } = masking;
  return {
    ...rest,
    ...(lookup === undefined ? {} : { lookup }),
    ...(type === undefined ? {} : { type }),
  } as ColumnRule;
}

const LOOKUP_STRICTNESS: readonly (LookupPermission | undefined)[] = ["allow", "approval", "deny", undefined];

/** The stricter lookup permission (absent means `deny`). */
function stricterLookup(
  a: LookupPermission | undefined,
  b: LookupPermission | undefined,
): LookupPermission | undefined {
  return LOOKUP_STRICTNESS.indexOf(a) >= LOOKUP_STRICTNESS.indexOf(b) ? a : b;
}

/** The meet of two rules of one strategy (its own, or the default redaction when it has none). */
function meetOf(a: ColumnRule, b: ColumnRule): ColumnRule {
  const meet = strategyOf(a.strategy).meet as (x: ColumnRule, y: ColumnRule) => ColumnRule | null;
  return meet(a, b) ?? DEFAULT_REDACT;
}

/**
 * The stricter masking of two rules (strategy and parameters; `lookup` and `type` are merged by the caller): the
 * higher rank wins; the same strategy with other parameters gives the strategy's meet.
 */
function stricterMasking(a: ColumnRule, b: ColumnRule): ColumnRule {
  const ra = strictnessRank(a.strategy);
  const rb = strictnessRank(b.strategy);
  if (ra !== rb) return ra > rb ? a : b;
  return meetOf(a, b);
}

/** The strictest of several rules, or null when there are none. */
export function strictestRule(rules: Iterable<ColumnRule>): ColumnRule | null {
  let acc: ColumnRule | null = null;
  for (const rule of rules) acc = acc === null ? rule : stricterRule(acc, rule);
  return acc;
}

/**
 * Merges rule sets by column (e.g. the policy's defaults and one principal's overrides): a column named in
 * several sets gets the stricter rule, so an override can tighten masking but never loosen it.
 */
export function mergeRules(
  ...sets: readonly Readonly<Record<string, ColumnRule>>[]
): Record<string, ColumnRule> {
  const merged = new Map<string, ColumnRule>();
  for (const set of sets) {
    for (const [column, rule] of Object.entries(set)) {
      const existing = merged.get(column);
      merged.set(column, existing === undefined ? rule : stricterRule(existing, rule));
    }
  }
  return Object.fromEntries(merged);
}
