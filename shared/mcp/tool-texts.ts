// What the MCP server tells a model: its instructions and each tool's description (what is masked, and why).

/** How protected values behave, in the words a model needs so it does not retry around the policy. */
const OPACITY = `Protected values (PHI such as SSNs, names, dates of birth, addresses, phone numbers, ZIP codes, \
free-text notes) are masked in every result by phigate's policy: redacted, tokenized (a stable opaque token: equal \
values share a token, so you can join or compare tokens), generalized (a birth year, a ZIP3) or scanned by detectors \
that replace SSNs, phones, emails, dates and MRNs in free text. Masked values are the intended answer, not an error. \
Protected values are opaque: a statement may select them (masked), count them, test them IS NULL, look rows up by \
equality with a literal where the policy allows it, or join on columns of the same kind. Any other use (functions \
such as substr or md5, LIKE, comparisons, ORDER BY, GROUP BY, DISTINCT on them) is refused by design, and an \
approval cannot unlock it.`;

/** The server's instructions (sent at initialization). */
export const SERVER_INSTRUCTIONS = `phigate is a gateway in front of a PostgreSQL database of patient data. Every \
statement you run is checked against a policy under the identity this server was started with, run read-only, \
masked, and recorded with a session id you can cite. ${OPACITY}

Work like this: call describe to see the tables and columns you may read and how each is masked; call \
explain_decision to check a statement without running it; call query to run it. When a statement is refused, \
read the reason and change what you ask for; do not rewrite the statement to reach the same protected values \
another way (every attempt is recorded and reviewed). When a statement needs a human's approval, hand the link to \
a person and call wait_for_approval; never resubmit it to avoid the approval.`;

/** The `query` tool. */
export const QUERY_DESCRIPTION = `Runs one read-only SQL statement (PostgreSQL dialect; parameters as $1, $2 … \
with params) through phigate and returns the masked result as a table, with the session id. ${OPACITY} A statement \
the policy finds risky (bulk or full-history reads, many PHI columns, lookups by SSN or name) is not run at once: \
the answer gives an approval id, the reasons and a link for a human approver, and returns immediately; then call \
wait_for_approval. A denied statement answers with the policy's reason: change what you ask for, not how you ask it.`;

/** The `wait_for_approval` tool, for a server that waits at most `maxSeconds` per call. */
export const waitDescription = (defaultSeconds: number, maxSeconds: number): string =>
  `Waits (up to seconds, default ${defaultSeconds}, at most ${maxSeconds}) for a statement that needed approval: \
returns its masked result once an approver approved and it ran, the decision when an approver denied it or the \
request expired, or that it is still waiting (call again). Pass the sessionId the query tool returned (or the \
approvalId of a query made through this server).`;

/** The `describe` tool. */
export const DESCRIBE_DESCRIPTION = `Lists the tables and columns you may read, from the policy and the database \
catalog, with each column's type and masking: the strategy, what it keeps, and whether the column may be looked up \
by equality with a literal (allowed, needs approval, or never). Tables you may not read are not listed. ${OPACITY}`;

/** The `explain_decision` tool. */
export const EXPLAIN_DESCRIPTION = `Dry run: decides a statement without running it and explains the decision \
(allow, deny, or needs approval), the reasons, the tables, columns and functions it reads, and the masking that \
would apply to each output column. Use it to understand a refusal or to check a statement before query. Nothing is \
executed.`;
