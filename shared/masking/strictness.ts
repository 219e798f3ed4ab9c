// The strictness order of column rules: when two rules meet (override vs default, several sources), the stricter wins.
import {
  type ColumnRule,
  DEFAULT_REDACTION,
  type GeneralizeRule,
  type LookupPermission,
  type MaskingStrategy,
  type TokenNormalization,
  tokenNormalizationSchema,
} from "./rules.ts";

/**
 * Strategies from least to most strict, ranked by how much of the original value reaches the caller:
 * `partial` shows literal characters and the format; `generalize` shows a coarsened real value (Safe Harbor
 * level: a year, a ZIP3); `tokenize` shows no content, only equality between values; `redact` shows only
 * whether a value is present; `nullify` shows nothing.
 */
export const STRATEGY_STRICTNESS: readonly MaskingStrategy[] = [
  "partial",
  "generalize",
  "tokenize",
  "redact",
  "nullify",
];

/** The rank of a strategy in {@link STRATEGY_STRICTNESS} (higher is stricter). */
export function strictnessRank(strategy: MaskingStrategy): number {
  return STRATEGY_STRICTNESS.indexOf(strategy);
}

const DEFAULT_REDACT: ColumnRule = { strategy: "redact", replacement: DEFAULT_REDACTION };

const DATE_TARGETS = {
  month: { year: false, birth: false },
  year: { year: true, birth: false },
  birth_month: { year: false, birth: true },
  birth_year: { year: true, birth: true },
} as const;

function stricterGeneralize(a: GeneralizeRule, b: GeneralizeRule): ColumnRule {
  if (a.to === b.to) return a;
  if (a.to in DATE_TARGETS && b.to in DATE_TARGETS) {
    const x = DATE_TARGETS[a.to as keyof typeof DATE_TARGETS];
    const y = DATE_TARGETS[b.to as keyof typeof DATE_TARGETS];
    const year = x.year || y.year;
    const birth = x.birth || y.birth;
    return { strategy: "generalize", to: birth ? (year ? "birth_year" : "birth_month") : "year" };
  }
  return DEFAULT_REDACT;
}

function sameNormalization(a: readonly TokenNormalization[], b: readonly TokenNormalization[]): boolean {
  return a.length === b.length && a.every((n) => b.includes(n)) && b.every((n) => a.includes(n));
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

/** The stricter masking of two rules (strategy and parameters; `lookup` and `type` are merged by the caller). */
function stricterMasking(a: ColumnRule, b: ColumnRule): ColumnRule {
  const ra = strictnessRank(a.strategy);
  const rb = strictnessRank(b.strategy);
  if (ra !== rb) return ra > rb ? a : b;
  switch (a.strategy) {
    case "partial": {
      if (b.strategy !== "partial") return a;
      return {
        strategy: "partial",
        keepFirst: Math.min(a.keepFirst, b.keepFirst),
        keepLast: Math.min(a.keepLast, b.keepLast),
        maskChar: a.maskChar === b.maskChar ? a.maskChar : "*",
      };
    }
    case "generalize":
      return b.strategy === "generalize" ? stricterGeneralize(a, b) : a;
    case "tokenize": {
      if (b.strategy !== "tokenize") return a;
      if (a.prefix === b.prefix && sameNormalization(a.normalize, b.normalize)) return a;
      return {
        strategy: "tokenize",
        prefix: a.prefix === b.prefix ? a.prefix : "tok",
        normalize: tokenNormalizationSchema.options.filter(
          (n) => a.normalize.includes(n) || b.normalize.includes(n),
        ),
      };
    }
    case "redact":
      return b.strategy === "redact" && a.replacement === b.replacement ? a : DEFAULT_REDACT;
    case "nullify":
      return a;
  }
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
