// The masking leak suite (issues 4 and 13): every adversarial statement through HTTP as the nightly report job, on
// PGlite and on a PostgreSQL server. Each must get the answer the opacity rules give it, and no raw or derived form
// of a protected value may appear in any answer, its session record or its replay (approved ones included).

import { readFile } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { describeNames, reasonsNaming } from "#test/support/adversarial/denial-names.ts";
import {
  ADVERSARIAL_PATIENTS,
  ADVERSARIAL_STATEMENTS,
  type AdversarialOutcome,
  type AdversarialStatement,
  FAILING_PLAIN_STATEMENTS,
  FAILING_PROTECTED_STATEMENTS,
  ISSUE_13_CYCLE,
  ISSUE_13_CYCLE_FEW,
  ISSUE_13_PREDICATE_SPELLING,
  ISSUE_13_UNION,
  PGLITE_ONLY_STATEMENTS,
  SERVER_SETUP_SQL,
  SERVER_STATEMENTS,
  SERVER_VIEWS,
} from "#test/support/adversarial/statements.ts";
import { type Answer, NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import {
  firstPatients,
  type LeakHit,
  leakFinder,
  leakForms,
  recordedDigests,
} from "#test/support/leak-forms.ts";
import { withHighRateLimits, withLargeWindow } from "#test/support/load.ts";
import {
  type PostgresServer,
  postgresUnavailableReason,
  startPostgresServer,
} from "#test/support/postgres-server.ts";
import { seedEhr } from "#tools/ehr/seed.ts";

const patients = firstPatients(ADVERSARIAL_PATIENTS);
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

/** Every form found in an HTTP answer (its raw text and its string leaves), past the digests it records. */
function scanAnswer(answer: Answer): LeakHit[] {
  return find([answer.text, ...strings(answer.body, [])].join("\n"), recordedDigests(answer.body));
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

/** The forms a statement carries on purpose (lookup literals, guesses), which its record and replay echo. */
function echoed(statement: AdversarialStatement): Set<string> {
  if (statement.guess !== true) return new Set();
  return new Set(find(`${statement.sql}\n${JSON.stringify(statement.params ?? [])}`).map((h) => h.form));
}

/** The request body of a statement. */
function body(statement: AdversarialStatement): Record<string, unknown> {
  return statement.params === undefined
    ? { sql: statement.sql }
    : { sql: statement.sql, params: statement.params };
}

/** The demo policy with the suite's rate limits and window (and, on the server, grants on the suite's views). */
async function suitePolicy(views: readonly string[]): Promise<string> {
  let demo = withLargeWindow(withHighRateLimits(await readFile("policy/demo.yaml", "utf8")));
  if (views.length > 0) {
    const tables = "tables: [public.patients, public.encounters, public.medications]";
    if (!demo.includes(tables)) throw new Error("the demo policy's grants changed");
    demo = demo.replace(
      tables,
      `tables: [public.patients, public.encounters, public.medications, ${views.join(", ")}]`,
    );
  }
  return demo;
}

interface Backend {
  readonly name: string;
  readonly extra: readonly AdversarialStatement[];
  readonly views: readonly string[];
  start(policy: string): Promise<TestGateway>;
  stop(): Promise<void>;
}

let server: PostgresServer | undefined;
const backends: Backend[] = [
  {
    name: "embedded PGlite",
    extra: PGLITE_ONLY_STATEMENTS,
    views: [],
    start: (policy) => startTestGateway({ policy }),
    stop: async () => {},
  },
];
const unavailable = postgresUnavailableReason();
if (unavailable === undefined || process.env.PHIGATE_REQUIRE_POSTGRES === "1") {
  backends.push({
    name: "a PostgreSQL server (DATABASE_URL)",
    extra: SERVER_STATEMENTS,
    views: SERVER_VIEWS,
    async start(policy) {
      if (server === undefined) {
        server = await startPostgresServer({ database: "ehr" });
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        try {
          await seedEhr(client);
          await client.query(SERVER_SETUP_SQL);
        } finally {
          await client.end();
        }
      }
      return startTestGateway({ databaseUrl: server.url, policy });
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
  // The detectors run over every text cell: give them one kind that matches nothing here.
  demo.masking.detectors = { columns: [], kinds: ["mrn"], mrnPattern: "NO-SUCH-MRN-[0-9]{12}" };
  demo.risk.rules = [];
  if (demo.risk.protectedColumnUse !== undefined) demo.risk.protectedColumnUse = { action: "allow" };
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

  it("skips the gateway's own digests for every form but the hashed ones, and never a cell's", () => {
    // CI once failed here: a record's 64-hex digest (and the next record's `prev`) held patient 4's DOB digits
    // reversed, by chance. A form found only inside such a digest is no leak; found anywhere else, it still is.
    const form = forms.find((f) => f.how === "digits-reversed" && f.column === "dob");
    const sha = forms.find((f) => f.how === "sha256");
    if (form === undefined || sha === undefined) throw new Error("the forms changed");
    const digest = `ab${form.text}`.padEnd(64, "c");
    const record = {
      versions: [{ prev: digest, digest: sha.text }],
      exchange: { request: { sqlDigest: digest, params: { digests: [digest] } } },
      rows: [[digest]],
    };
    const text = JSON.stringify(record);
    const digests = recordedDigests(record);
    expect([...digests].sort()).toEqual([digest, sha.text].sort());
    expect(find(text).map((h) => h.form)).toContain(form.text);
    expect(find(text, digests).map((h) => h.form)).not.toContain(form.text);
    expect(find(text, digests).map((h) => h.form)).toContain(sha.text);
    expect(find(`${text} ${form.text}`, digests).map((h) => h.form)).toContain(form.text);
    // A cell is never a digest, whatever its column is called.
    expect(recordedDigests({ rows: [{ digest }], result: { rows: [[digest]] } }).size).toBe(0);
    expect(recordedDigests({ note: digest, digest: "not hex" }).size).toBe(0);
  });

  it("does not find the forms in the statements it sends (except deliberate lookups and guesses)", () => {
    const all = [
      ...ADVERSARIAL_STATEMENTS,
      ...PGLITE_ONLY_STATEMENTS,
      ...SERVER_STATEMENTS,
      ...FAILING_PROTECTED_STATEMENTS,
      ...FAILING_PLAIN_STATEMENTS,
    ];
    for (const s of all) {
      const hits = find(`${s.sql}\n${JSON.stringify(s.params ?? [])}`);
      if (s.guess === true) expect(hits.length, `${s.sql} is marked as a guess`).toBeGreaterThan(0);
      else expect(describeHits(hits), s.sql).toEqual([]);
    }
  });
});

describe.each(backends)("masking leaks through HTTP against $name", (backend) => {
  let gw: TestGateway;
  let nightly: string;
  let approver: string;
  const tally = new Map<string, Record<AdversarialOutcome, number>>();

  beforeAll(async () => {
    // The suite sends more requests a minute than the demo policy's rate limit allows; the limit is tested elsewhere.
    gw = await backend.start(await suitePolicy(backend.views));
    nightly = await gw.token(NIGHTLY);
    approver = await gw.token("alice", { groups: ["phi-approvers"] });
  });
  afterAll(async () => {
    await gw?.close();
    const zero = (): Record<AdversarialOutcome, number> => ({
      masked: 0,
      allowed: 0,
      denied: 0,
      approval: 0,
    });
    const line = (name: string, t: Record<AdversarialOutcome, number>) =>
      `${name.padEnd(36)} ${String(t.masked + t.allowed + t.denied + t.approval).padStart(3)}  masked ${String(t.masked).padStart(3)}  allowed ${String(t.allowed).padStart(3)}  denied ${String(t.denied).padStart(3)}  approval ${String(t.approval).padStart(3)}`;
    const total = zero();
    const lines = [...tally].map(([category, t]) => {
      for (const k of Object.keys(total) as AdversarialOutcome[]) total[k] += t[k];
      return line(category, t);
    });
    lines.push(line("total", total));
    console.log(`masking leak suite against ${backend.name}:\n${lines.join("\n")}`);
  });

  /** Every form found in a session's record and replay (JSON and HTML), less the statement's own echo. */
  async function scanSession(sessionId: string, statement: AdversarialStatement): Promise<LeakHit[]> {
    const session = await gw.request("GET", `/v1/sessions/${sessionId}`, { token: nightly });
    expect(session.status).toBe(200);
    const replay = await gw.request("GET", `/v1/sessions/${sessionId}/replay`, { token: nightly });
    expect(replay.status).toBe(200);
    const page = await gw.request("GET", `/v1/sessions/${sessionId}/replay?format=html`, { token: nightly });
    expect(page.status).toBe(200);
    const own = echoed(statement);
    // The page shows the replay's record, so the digests of the two JSON views are the page's too.
    const digests = recordedDigests(replay.body, recordedDigests(session.body));
    return [
      ...find([session.text, ...strings(session.body, [])].join("\n"), digests),
      ...find([replay.text, ...strings(replay.body, [])].join("\n"), digests),
      ...find(unescapeHtml(page.text), digests),
    ].filter((h) => !own.has(h.form));
  }

  /** The completed session of an approved statement. */
  async function approveAndWait(answer: Answer): Promise<Answer> {
    const decision = await gw.request("POST", `/v1/approvals/${answer.body.approval.id}/decision`, {
      token: approver,
      body: { decision: "approve", comment: "leak suite" },
    });
    expect(decision.status, decision.text).toBe(200);
    let session = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}?wait=15`, {
      token: nightly,
    });
    for (let i = 0; i < 5 && session.body.status !== "completed" && session.body.status !== "failed"; i++) {
      session = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}?wait=15`, { token: nightly });
    }
    return session;
  }

  /** The decision's reasons must name one of the statement's columns and one of its constructs, in one reason. */
  function expectNamedDenial(statement: AdversarialStatement, answer: Answer, session: Answer): void {
    const names = statement.names;
    if (names === undefined) return;
    const reasons: string[] = session.body.decision.reasons;
    const rules: string[] = session.body.decision.rules;
    // Attribute notation (`ssn(p)` for `p.ssn`) calls no function `pg_proc` lists: the function rule refuses it first.
    if (rules.includes("functions")) {
      expect(reasons.join(" ")).toMatch(/\(not a built-in function\)/);
      return;
    }
    const by = rules.filter((r) => r === "opacity" || r === "masking");
    expect(by, `${statement.sql}: denied by the opacity rule or the masking plan`).not.toEqual([]);
    const named = reasonsNaming(reasons, names);
    expect(named, describeNames(names, reasons)).not.toEqual([]);
    expect(answer.body.error.message).toContain(named[0]);
  }

  async function run(statement: AdversarialStatement): Promise<void> {
    const answer = await gw.query(nightly, body(statement));
    const sessionId: string | undefined = answer.body?.sessionId ?? answer.body?.error?.sessionId;
    expect(sessionId, answer.text).toMatch(/^ses_/);
    const own = echoed(statement);
    const hits = [
      ...scanAnswer(answer).filter((h) => !own.has(h.form)),
      ...(await scanSession(sessionId ?? "", statement)),
    ];
    expect(describeHits(hits), `${statement.sql} leaked`).toEqual([]);

    let outcome: AdversarialOutcome;
    const session = await gw.request("GET", `/v1/sessions/${sessionId}`, { token: nightly });
    if (answer.status === 200) {
      expect(answer.body).toMatchObject({ status: "completed" });
      expect(session.body).toMatchObject({ status: "completed", result: { rows: answer.body.rows } });
      // A column only the detectors' second line scans (rule `detectors`) is not masked by a rule.
      const maskedColumns = answer.body.columns.filter(
        (c: { masking: { rule: string } | null }) => c.masking !== null && c.masking.rule !== "detectors",
      );
      outcome = maskedColumns.length > 0 ? "masked" : "allowed";
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
    if (outcome === "denied" || outcome === "approval") {
      expect(answer.body).not.toHaveProperty("rows");
      expect(session.body).not.toHaveProperty("result.rows");
    }
    const reasons = session.body.decision?.reasons?.join(" | ") ?? "";
    expect(outcome, `${statement.sql} answered ${answer.status} (${reasons})`).toBe(statement.expect);
    if (outcome === "denied") expectNamedDenial(statement, answer, session);

    if (outcome === "approval") {
      const done = await approveAndWait(answer);
      expect(done.body.status, done.text.slice(0, 500)).toBe("completed");
      // Inline, so every row is in the record the scan below reads.
      expect(done.body.result.resultUrl).toBeUndefined();
      expect(
        describeHits(await scanSession(answer.body.sessionId, statement)),
        `${statement.sql} leaked once approved`,
      ).toEqual([]);
    }

    const counts = tally.get(statement.category) ?? { masked: 0, allowed: 0, denied: 0, approval: 0 };
    counts[outcome]++;
    tally.set(statement.category, counts);
  }

  it.each([...ADVERSARIAL_STATEMENTS, ...backend.extra])("[$category] $sql", run, 120_000);

  describe("issue 13's reproducers", () => {
    it.each([
      ["the CYCLE mark", ISSUE_13_CYCLE],
      ["duplicate removal in a recursive UNION", ISSUE_13_UNION],
      ["a predicate spelling the SSN with constants (approved before)", ISSUE_13_PREDICATE_SPELLING],
    ])("%s is denied, never sent to approval, and answers no SSN", async (_, sql) => {
      const answer = await gw.query(nightly, { sql });
      expect(answer.status, answer.text).toBe(403);
      expect(answer.body.error.code).toBe("policy_denied");
      expect(answer.body.error.message).toContain("public.patients.ssn");
      expect(describeHits(scanAnswer(answer))).toEqual([]);
      const session = await gw.request("GET", `/v1/sessions/${answer.body.error.sessionId}`, {
        token: nightly,
      });
      expect(session.body).toMatchObject({ status: "rejected", decision: { outcome: "deny" } });
      expect(session.body.decision.rules).toContain("opacity");
      expect(describeHits(find(session.text, recordedDigests(session.body)))).toEqual([]);
    });
  });

  describe("run-time failures", () => {
    it.each(FAILING_PROTECTED_STATEMENTS)(
      "$sql reads a protected column or a PHI table: 422 execution_failed, without its SQLSTATE",
      async (statement) => {
        const answer = await gw.query(nightly, body(statement));
        expect(answer.status, answer.text).toBe(422);
        expect(answer.body.error.code).toBe("execution_failed");
        expect(answer.text).not.toMatch(/sqlstate|\b(22012|22P02|22008|21000)\b|division|invalid input/i);
        expect(answer.body.error).not.toHaveProperty("details.sqlstate");
        const session = await gw.request("GET", `/v1/sessions/${answer.body.error.sessionId}`, {
          token: nightly,
        });
        expect(session.body).toMatchObject({ status: "failed" });
        expect(session.body).not.toHaveProperty("result.rows");
        expect(session.text, "the requester's copy of the record carries no SQLSTATE either").not.toMatch(
          /sqlstate|\b22012\b|\b22P02\b|\b22008\b/i,
        );
        expect(describeHits(await scanSession(answer.body.error.sessionId, statement))).toEqual([]);
      },
    );

    it.each(FAILING_PLAIN_STATEMENTS)("$sql reads no PHI table: keeps its SQLSTATE", async (statement) => {
      const answer = await gw.query(nightly, body(statement));
      expect(answer.status, answer.text).toBe(422);
      expect(answer.body.error.code).not.toBe("execution_failed");
      expect(answer.body.error.message).toMatch(/SQLSTATE (22012|22P02)/);
    });
  });

  it("answered every outcome", () => {
    const total = { masked: 0, allowed: 0, denied: 0, approval: 0 };
    for (const t of tally.values())
      for (const k of Object.keys(total) as AdversarialOutcome[]) total[k] += t[k];
    expect(total.masked + total.allowed + total.denied + total.approval).toBeGreaterThan(250);
    for (const k of Object.keys(total) as AdversarialOutcome[]) expect(total[k], k).toBeGreaterThan(0);
  });

  it("wrote none of the forms to its logs", () => {
    const digests = new Set<string>();
    for (const line of gw.logs) {
      try {
        recordedDigests(JSON.parse(line), digests);
      } catch {
        // Not a JSON line: nothing in it is taken for a digest.
      }
    }
    expect(describeHits(find(gw.logs.join("\n"), digests))).toEqual([]);
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
      sql: `SELECT ssn, reverse(mrn), encode(convert_to(email, 'UTF8'), 'base64'), md5(phone), encode(sha256(convert_to(address, 'UTF8')), 'hex'), upper(last_name), replace(phone, '-', '') FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS}`,
    });
    expect(answer.status, answer.text).toBe(200);
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

  it("finds the SSNs issue 13's CYCLE reproducer spells once nothing is protected", async () => {
    const answer = await gw.query(nightly, { sql: ISSUE_13_CYCLE_FEW });
    expect(answer.status, answer.text).toBe(200);
    const spelled = scanAnswer(answer).filter((h) => h.column === "ssn" && h.how === "raw");
    expect(spelled.map((h) => h.patientId).sort()).toEqual([1, 2, 3]);
  });
});
