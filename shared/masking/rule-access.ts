// What every column rule says besides its masking: how the protected column may be looked up, and its semantic type.
import * as z from "zod";

/** How a protected column may be compared with literals: freely, with an approver's consent, or never. */
export const lookupPermissionSchema = z.enum(["allow", "approval", "deny"]);

/** How a column may be looked up (see the rule's `lookup`). */
export type LookupPermission = z.output<typeof lookupPermissionSchema>;

/**
 * How a protected column may be used besides being selected (docs/masking.md, "Opacity"): `lookup` — whether a
 * statement may compare it for equality with literals in a WHERE / INNER JOIN condition (`allow`, `approval`:
 * only with an approver's consent, `deny`: never, the default); `type` — its semantic type: equi-joins are
 * allowed only between protected columns of the same type, and only for columns that name one (joining
 * reveals which rows share a value, which the masking itself may not show).
 */
export const accessShape = {
  lookup: lookupPermissionSchema.optional(),
  type: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,31}$/, "a lower-case name of up to 32 letters, digits or underscores")
    .optional(),
};
