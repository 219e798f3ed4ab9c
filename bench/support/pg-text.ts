// The node-postgres types every direct baseline and the floor read with: values as PostgreSQL's text.

import type pg from "pg";

/**
 * Values as PostgreSQL's text, as the gateway's executor reads them (`infra/local/adapters/pg-executor.ts`): the
 * direct baselines and the floor skip type parsing too, so they measure the same driver work.
 */
export const AS_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;
