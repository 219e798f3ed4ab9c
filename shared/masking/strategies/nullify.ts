// Strategy `nullify`: null in place of the value, whatever its type.
import * as z from "zod";
import { isCellValue, unexpected } from "../cell-walk.ts";
import { accessShape } from "../rule-access.ts";
import { defineStrategy } from "../strategy.ts";

/** `nullify`: replace the value by null (valid for every type, reveals nothing). */
export const nullifyRuleSchema = z.strictObject({ strategy: z.literal("nullify"), ...accessShape });

/** A `nullify` rule. */
export type NullifyRule = z.output<typeof nullifyRuleSchema>;

/** The strictest: nothing reaches the caller. */
export const nullifyStrategy = defineStrategy({
  schema: nullifyRuleSchema,
  rank: 4,
  outputsText: false,
  keeps: () => "nothing (null)",
  compile:
    (_rule, { position }) =>
    (v) => {
      if (!isCellValue(v)) throw unexpected(position);
      return null;
    },
  meet: (a) => a,
});
