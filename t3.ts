import { loadSqlParser, parseStatement } from "#shared/sql/parser.ts";
import { classify } from "#shared/sql/classify.ts";
import { catalogFromDdl } from "#shared/sql/ddl-catalog.ts";
import { EHR_SCHEMA_SQL } from "#shared/ehr/schema.ts";
import { loadPolicyFile } from "#shared/policy/load.ts";
import { decideStatement } from "#shared/sessions/decide.ts";
await loadSqlParser();
const catalog = catalogFromDdl(EHR_SCHEMA_SQL);
const policy = await loadPolicyFile("policy/demo.yaml");
for (const sql of process.argv.slice(2)) {
  const c = classify(parseStatement(sql), catalog);
  const d = await decideStatement({ policy, context: { devIssuer: "http://dev" }, principal: { issuer: "http://dev", subject: "repo:acme/ehr-reports:ref:refs/heads/main", groups: [], claims: {} } as never, classification: c, purpose: null, estimateRows: async () => 10 });
  console.log(sql.slice(0,150), "\n   =>", d.decision.outcome, d.decision.reasons.join(" | ").slice(0, 300));
  for (const e of c.exposures) console.log("     ", `${e.table}.${e.column}`, e.via.join(" "));
}
