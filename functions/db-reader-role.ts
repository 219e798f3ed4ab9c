// Lambda entry of the custom resource that creates (owned cluster) or verifies (any cluster) the read-only role.

import { RDSDataClient } from "@aws-sdk/client-rds-data";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type CustomResourceEvent, respondToCloudFormation } from "#infra/aws/adapters/custom-resource.ts";
import { checkReaderFacts, ensureReaderRole, readerRoleFacts } from "#infra/aws/adapters/reader-role.ts";

const rdsData = new RDSDataClient({});
const secrets = new SecretsManagerClient({});

/** Create/Update: make the role (with the master secret, when given) and verify it; Delete: keep the role. */
export async function handler(event: CustomResourceEvent): Promise<void> {
  await respondToCloudFormation(
    event,
    "phigate-reader-role",
    async (props): Promise<Record<string, string>> => {
      if (event.RequestType === "Delete") return {};
      const target = {
        clusterArn: String(props.ClusterArn),
        database: String(props.Database),
        readerSecretArn: String(props.ReaderSecretArn),
        statementTimeoutMs: Number(props.StatementTimeoutMs),
        schemas: String(props.Schemas ?? "public").split(","),
      };
      if (typeof props.MasterSecretArn === "string" && props.MasterSecretArn.length > 0) {
        await ensureReaderRole({ rdsData, secrets }, target, props.MasterSecretArn);
      }
      const facts = await readerRoleFacts(rdsData, target);
      checkReaderFacts(facts);
      return { Username: facts.username };
    },
  );
}
