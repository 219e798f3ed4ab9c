// The AWS read ledger adds each table's PHI rows: a session's result rows times the occurrences of the table behind each.

import { DynamoDBClient, UpdateItemCommand, type UpdateItemCommandInput } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { DynamoReadLedger } from "#infra/aws/adapters/dynamo-read-ledger.ts";

const dynamo = mockClient(DynamoDBClient);

afterEach(() => {
  dynamo.reset();
});

describe("DynamoReadLedger.add", () => {
  it("adds rows × weight per table, and the rows once for a table without a weight", async () => {
    const added = new Map<string, string>();
    dynamo.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
      const table = (input.Key?.pk?.S ?? "").split("#").at(-1) ?? "";
      added.set(table, input.ExpressionAttributeValues?.[":rows"]?.N ?? "");
      return {};
    });
    const ledger = new DynamoReadLedger({
      client: new DynamoDBClient({ region: "eu-west-1" }),
      tableName: "phigate-sessions",
    });
    await ledger.add({
      principal: "iss#sub",
      tables: ["public.encounters", "public.patients"],
      rows: 40,
      weights: { "public.patients": 10 },
      at: new Date("2026-03-02T08:00:00.000Z"),
    });
    expect(Object.fromEntries(added)).toEqual({ "public.encounters": "40", "public.patients": "400" });
  });
});
