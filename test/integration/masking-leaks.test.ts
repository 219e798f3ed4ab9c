// The masking leak suite (issue 4): adversarial statements through HTTP as the nightly report job; no raw or derived
// form of a protected value of the patients involved may appear in any answer, its session record or its replay.

import { readFile } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { seedEhr } from "#shared/ehr/seed.ts";
import {
  LEAK_APPROVED_STATEMENTS,
  LEAK_ERROR_STATEMENTS,
  LEAK_PATIENTS,
  LEAK_STATEMENTS,
  type LeakOutcome,
  type LeakStatement,
} from "#test/integration/masking-leak-statements.ts";
import { type Answer, NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import { firstPatients, type LeakHit, leakFinder, leakForms } from "#test/support/leak-forms.ts";
import { withHighRateLimits } from "#test/support/load.ts";
import {
  type PostgresServer,
  postgresUnavailableReason,
  startPostgresServer,
} from "#test/support/postgres-server.ts";

const patients = firstPatients(LEAK_PATIENTS);
const forms = leakForms(patients);
const find = leakFinder(forms);

/** Every string in a JSON value (cells holding JSON text are scanned once more, unescaped). */
function strings(value: unknown, out: string[]): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const item of value) strings(item, out);
  else if (value !== null && typeof value === "object")
    for (const item of Object.values(value)) strings(item, out);
  return out;
}

/** Every form found in an HTTP answer (its raw text and its string leaves). */
function scanAnswer(answer: Answer): LeakHit[] {
  return find([answer.text, ...strings(answer.body, [])].join("\n"));
}

function unescapeHtml(html: string): string {
  return html
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
    .replaceAll("&quot;", '"')
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

function describeHits(hits: readonly LeakHit[]): string[] {
  return hits.map((h) => `patient ${h.patientId} ${h.column} (${h.how}: ${h.form})`);
}

/** Statements that only a PostgreSQL server can run: contrib extensions, a view and a function made for the suite. */
const SERVER_STATEMENTS: readonly LeakStatement[] = [
  ...[
    `SELECT ext.digest(ssn, 'sha256'), encode(ext.digest(mrn, 'md5'), 'hex') FROM patients WHERE id <= ${LEAK_PATIENTS}`,
    `SELECT ext.hstore(p) FROM patients p WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT ext.akeys(ext.hstore(ARRAY['s', ssn])) FROM patients WHERE id <= ${LEAK_PATIENTS}`,
    `SELECT * FROM ext.crosstab('SELECT id, ssn, mrn FROM patients WHERE id <= ${LEAK_PATIENTS}') AS t(id int, a text)`,
    "SELECT t.* FROM ext.heap_page_items(ext.get_raw_page('patients', 0)) t LIMIT 5",
    `SELECT id, email_upper, ssn FROM patient_contacts WHERE id <= ${LEAK_PATIENTS}`,
    "SELECT patient_ssn(1)",
  ].map((sql) => ({ category: "server extras", sql, expect: ["denied"] as const })),
];

/** Extensions go to their own schema, off the search path, so their operators (hstore's ||) do not shadow the built-ins. */
const SERVER_SETUP = `
CREATE SCHEMA ext;
CREATE EXTENSION pgcrypto SCHEMA ext;
CREATE EXTENSION hstore SCHEMA ext;
CREATE EXTENSION tablefunc SCHEMA ext;
CREATE EXTENSION pageinspect SCHEMA ext;
CREATE VIEW patient_contacts AS SELECT id, upper(email) AS email_upper, ssn FROM patients;
CREATE FUNCTION patient_ssn(integer) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM patients WHERE id = $1';
`;

interface Backend {
  readonly name: string;
  readonly extra: readonly LeakStatement[];
  start(policy?: string): Promise<TestGateway>;
  stop(): Promise<void>;
}

let server: PostgresServer | undefined;
const backends: Backend[] = [
  {
    name: "embedded PGlite",
    extra: [],
    start: (policy) => startTestGateway(policy === undefined ? {} : { policy }),
    stop: async () => {},
  },
];
const unavailable = postgresUnavailableReason();
if (unavailable === undefined || process.env.PHIGATE_REQUIRE_POSTGRES === "1") {
  backends.push({
    name: "a PostgreSQL server (DATABASE_URL)",
    extra: SERVER_STATEMENTS,
    async start(policy) {
      if (server === undefined) {
        server = await startPostgresServer({ database: "ehr" });
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        try {
          await seedEhr(client);
          await client.query(SERVER_SETUP);
        } finally {
          await client.end();
        }
      }
      return startTestGateway({ databaseUrl: server.url, ...(policy === undefined ? {} : { policy }) });
    },
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
  });
} else {
  console.warn(`skipping the DATABASE_URL leak suite: ${unavailable}`);
}

/** The demo policy with every masking rule and detector removed: what an unmasked answer looks like. */
async function unmaskedPolicy(): Promise<string> {
  const demo = parse(await readFile("policy/demo.yaml", "utf8"));
  demo.masking.rules = {};
  demo.masking.detectors = { columns: [], kinds: ["ssn"] };
  demo.risk = { protectedColumnUse: { action: "allow" }, rules: [] };
  return stringify(demo);
}

describe("the leak checker", () => {
  it("finds a raw SSN and every derived form it searches for, and nothing in masked values", () => {
    const [first] = patients;
    expect(first).toBeDefined();
    const ssn = first?.ssn ?? "";
    expect(describeHits(find(`{"rows":[["${ssn}"]]}`))).toContain(`patient 1 ssn (raw: ${ssn})`);
    const hows = new Set(forms.filter((f) => f.column === "ssn" && f.patientId === 1).map((f) => f.how));
    expect([...hows].sort()).toEqual(
      ["base64", "digits", "digits-reversed", "hex", "md5", "raw", "reversed", "sha256"].sort(),
    );
    for (const form of forms.filter((f) => f.patientId === 1)) {
      expect(
        find(`x ${form.text} x`).some((h) => h.form === form.text),
        form.how,
      ).toBe(true);
    }
    expect(
      find(`{"rows":[["***-**-${ssn.slice(-4)}", "mrn_495b05a1113a2ac14abace13", "1964", "921"]]}`),
    ).toEqual([]);
  });

  it("does not find the forms in the statements it sends (except deliberate guesses)", () => {
    for (const { sql, guess } of [...LEAK_STATEMENTS, ...SERVER_STATEMENTS]) {
      if (guess !== true) expect(describeHits(find(sql)), sql).toEqual([]);
    }
    for (const sql of [...LEAK_ERROR_STATEMENTS, ...LEAK_APPROVED_STATEMENTS]) {
      expect(describeHits(find(sql)), sql).toEqual([]);
    }
  });
});

describe.each(backends)("masking leaks through HTTP against $name", (backend) => {
  let gw: TestGateway;
  let nightly: string;
  const tally = new Map<string, Record<LeakOutcome, number>>();

  beforeAll(async () => {
    // The suite sends more requests a minute than the demo policy's rate limit allows; the limit is tested elsewhere.
    gw = await backend.start(withHighRateLimits(await readFile("policy/demo.yaml", "utf8")));
    nightly = await gw.token(NIGHTLY);
  });
  afterAll(async () => {
    await gw?.close();
    const lines = [...tally].map(
      ([category, t]) =>
        `${category.padEnd(28)} ${String(t.masked + t.denied + t.approval).padStart(3)}  200 masked ${String(t.masked).padStart(3)}  403 denied ${String(t.denied).padStart(3)}  approval ${String(t.approval).padStart(3)}`,
    );
    const total = { masked: 0, denied: 0, approval: 0 };
    for (const t of tally.values()) {
      total.masked += t.masked;
      total.denied += t.denied;
      total.approval += t.approval;
    }
    lines.push(
      `${"total".padEnd(28)} ${String(total.masked + total.denied + total.approval).padStart(3)}  200 masked ${String(total.masked).padStart(3)}  403 denied ${String(total.denied).padStart(3)}  approval ${String(total.approval).padStart(3)}`,
    );
    console.log(`masking leak suite against ${backend.name}:\n${lines.join("\n")}`);
  });

  async function run(statement: LeakStatement): Promise<void> {
    const answer = await gw.query(nightly, { sql: statement.sql });
    const sessionId: string | undefined = answer.body?.sessionId ?? answer.body?.error?.sessionId;
    expect(sessionId, answer.text).toMatch(/^ses_/);
    const session = await gw.request("GET", `/v1/sessions/${sessionId}`, { token: nightly });
    expect(session.status).toBe(200);

    let outcome: LeakOutcome;
    if (answer.status === 200) {
      outcome = "masked";
      expect(answer.body).toMatchObject({ status: "completed" });
      expect(session.body).toMatchObject({ status: "completed", result: { rows: answer.body.rows } });
    } else if (answer.status === 202) {
      outcome = "approval";
      expect(answer.body).toMatchObject({ status: "pending_approval", approval: { id: expect.any(String) } });
      expect(session.body).toMatchObject({
        status: "pending_approval",
        decision: { outcome: "require_approval" },
      });
    } else if (answer.status === 403 && answer.body?.error?.code === "policy_denied") {
      outcome = "denied";
      expect(session.body).toMatchObject({ status: "rejected", decision: { outcome: "deny" } });
    } else {
      throw new Error(`unexpected answer ${answer.status}: ${answer.text}`);
    }
    if (outcome !== "masked") {
      expect(answer.body).not.toHaveProperty("rows");
      expect(session.body).not.toHaveProperty("result.rows");
    }

    const replay = await gw.request("GET", `/v1/sessions/${sessionId}/replay`, { token: nightly });
    expect(replay.status).toBe(200);
    const page = await gw.request("GET", `/v1/sessions/${sessionId}/replay?format=html`, { token: nightly });
    expect(page.status).toBe(200);

    // A guess-confirmation probe carries its guess in the SQL, which the record and the replay echo.
    const guessed = new Set(statement.guess === true ? find(statement.sql).map((h) => h.form) : []);
    const hits = [
      ...scanAnswer(answer),
      ...find([session.text, ...strings(session.body, [])].join("\n")),
      ...find([replay.text, ...strings(replay.body, [])].join("\n")),
      ...find(unescapeHtml(page.text)),
    ].filter((h) => !guessed.has(h.form));
    expect(describeHits(hits), `${statement.sql} leaked`).toEqual([]);
    expect(statement.expect, `${statement.sql} answered ${outcome}`).toContain(outcome);

    const counts = tally.get(statement.category) ?? { masked: 0, denied: 0, approval: 0 };
    counts[outcome]++;
    tally.set(statement.category, counts);
  }

  it.each([...LEAK_STATEMENTS, ...backend.extra])("[$category] $sql", run);

  it.each(LEAK_ERROR_STATEMENTS)("[run-time error] %s fails without echoing a value", async (sql) => {
    const answer = await gw.query(nightly, { sql });
    expect(answer.status, answer.text).toBe(422);
    expect(answer.body.error.message).toMatch(/SQLSTATE [0-9A-Z]{5}/);
    const session = await gw.request("GET", `/v1/sessions/${answer.body.error.sessionId}`, {
      token: nightly,
    });
    expect(session.body).toMatchObject({ status: "failed" });
    expect(session.body).not.toHaveProperty("result.rows");
    const replay = await gw.request("GET", `/v1/sessions/${answer.body.error.sessionId}/replay`, {
      token: nightly,
    });
    const hits = [...scanAnswer(answer), ...find(session.text), ...find(replay.text)];
    expect(describeHits(hits)).toEqual([]);
  });

  it.each(LEAK_APPROVED_STATEMENTS)("[approved] %s is answered masked once approved", async (sql) => {
    const answer = await gw.query(nightly, { sql });
    expect(answer.status, answer.text).toBe(202);
    expect(answer.body).not.toHaveProperty("rows");
    const approver = await gw.token("alice", { groups: ["phi-approvers"] });
    const decision = await gw.request("POST", `/v1/approvals/${answer.body.approval.id}/decision`, {
      token: approver,
      body: { decision: "approve", comment: "leak suite" },
    });
    expect(decision.status, decision.text).toBe(200);
    let session = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}?wait=15`, {
      token: nightly,
    });
    for (let i = 0; i < 5 && session.body.status !== "completed"; i++) {
      session = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}?wait=15`, { token: nightly });
    }
    expect(session.body.status, session.text).toBe("completed");
    expect(session.body.result.rows.length).toBeGreaterThan(0);
    const replay = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}/replay`, {
      token: nightly,
    });
    const hits = [
      ...find([session.text, ...strings(session.body, [])].join("\n")),
      ...find([replay.text, ...strings(replay.body, [])].join("\n")),
    ];
    expect(describeHits(hits)).toEqual([]);
  });

  it("ran at least 60 statements and masked, denied and sent some to approval", () => {
    const total = { masked: 0, denied: 0, approval: 0 };
    for (const t of tally.values()) {
      total.masked += t.masked;
      total.denied += t.denied;
      total.approval += t.approval;
    }
    expect(total.masked + total.denied + total.approval).toBeGreaterThanOrEqual(60);
    expect(total.masked).toBeGreaterThan(0);
    expect(total.denied).toBeGreaterThan(0);
    expect(total.approval).toBeGreaterThan(0);
  });

  it("wrote none of the forms to its logs", () => {
    expect(describeHits(find(gw.logs.join("\n")))).toEqual([]);
  });

  it("sent approvers notifications that carry none of the forms", async () => {
    const { readdir, readFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const outbox = join(gw.dataDir, "outbox");
    const mails = (await readdir(outbox)).filter((name) => name.endsWith(".eml"));
    expect(mails.length).toBeGreaterThan(0);
    const text = await Promise.all(mails.map((name) => readFile(join(outbox, name), "utf8")));
    expect(describeHits(find(text.join("\n")))).toEqual([]);
  });
});

describe("control: the same checks catch an unmasked gateway", () => {
  let gw: TestGateway;
  let nightly: string;

  beforeAll(async () => {
    gw = await startTestGateway({ policy: await unmaskedPolicy() });
    nightly = await gw.token(NIGHTLY);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("finds raw and derived values in the answer and in the session record", async () => {
    const answer = await gw.query(nightly, {
      sql: `SELECT ssn, reverse(mrn), encode(convert_to(email, 'UTF8'), 'base64'), md5(phone), encode(sha256(convert_to(address, 'UTF8')), 'hex'), upper(last_name), replace(phone, '-', '') FROM patients WHERE id <= ${LEAK_PATIENTS}`,
    });
    expect(answer.status).toBe(200);
    const hows = new Set(scanAnswer(answer).map((h) => `${h.column}/${h.how}`));
    for (const expected of [
      "ssn/raw",
      "mrn/reversed",
      "email/base64",
      "phone/md5",
      "address/sha256",
      "last_name/upper",
      "phone/digits",
    ]) {
      expect(hows).toContain(expected);
    }
    const session = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}`, { token: nightly });
    expect(find(JSON.stringify(session.body)).map((h) => h.how)).toContain("raw");
    const replay = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}/replay`, {
      token: nightly,
    });
    expect(find(replay.text).map((h) => h.how)).toContain("raw");
    const page = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}/replay?format=html`, {
      token: nightly,
    });
    expect(find(unescapeHtml(page.text)).map((h) => h.how)).toContain("raw");
  });
});
