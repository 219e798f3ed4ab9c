// Reading a DynamoDB Query to its end: one call per page, following LastEvaluatedKey.

import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from "@aws-sdk/client-dynamodb";

type Item = Record<string, AttributeValue>;

/** The items of every page of `input`, in order; a failed call is thrown as `failed(error)` (the store's 503). */
export async function* queryItems(
  client: DynamoDBClient,
  input: Omit<QueryCommandInput, "ExclusiveStartKey">,
  failed: (error: unknown) => Error,
): AsyncIterable<Item> {
  let startKey: Item | undefined;
  do {
    let page: QueryCommandOutput;
    try {
      page = await client.send(
        new QueryCommand({ ...input, ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) }),
      );
    } catch (error) {
      throw failed(error);
    }
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}
