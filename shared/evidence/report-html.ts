// report.html: the bundle read by a person — who accessed PHI, that only authorized fields left, that each export was reviewed.

import type { Manifest, ManifestPolicyChange } from "#shared/evidence/bundle-format.ts";
import type { ProblemClass } from "#shared/evidence/problems.ts";
import type { SessionSummary } from "#shared/evidence/session-summary.ts";
import { describeDifference, type PolicyDifference, SIGNIFICANT_AREAS } from "#shared/policy/policy-diff.ts";
import { html, type SafeHtml } from "#shared/web/html-template.ts";
import { page } from "#shared/web/page.ts";

/** Most per-session rows a report table shows (the rest are in sessions.jsonl). */
export const REPORT_MAX_ROWS = 5_000;

/** A policy change of the range, with the rules it changed (undefined for the first policy the chain records). */
export interface PolicyChangeView extends ManifestPolicyChange {
  readonly differences: readonly PolicyDifference[] | undefined;
}

/** What the report is built from: the manifest's claims (before files are listed) and the session summaries. */
export interface ReportInput {
  readonly manifest: Omit<Manifest, "files">;
  readonly sessions: readonly SessionSummary[];
  readonly policyChanges: readonly PolicyChangeView[];
}

/** Whether a change altered masking, grants or who matches them. */
export function isSignificantChange(change: PolicyChangeView): boolean {
  return (change.differences ?? []).some((d) => SIGNIFICANT_AREAS.has(d.area));
}

function policyChanges(input: ReportInput): SafeHtml {
  const changes = input.policyChanges;
  if (changes.length === 0) return html``;
  const significant = changes.filter(isSignificantChange);
  const sameName = changes.filter((c) => c.from !== null && c.from.name === c.to.name);
  const headline =
    significant.length === 0
      ? html`<p class="warn">The policy changed ${changes.length} time(s) in this range; masking and grants did not.</p>`
      : html`<p class="bad"><b>Finding:</b> ${significant.length} policy change(s) in this range altered masking or grants${sameName.length > 0 ? html`, ${sameName.length} of them under the same policy name` : ""}.
Sessions decided after a change were checked against the policy they cite, not the one before it: verify them against the policy you expect with
<code>phigate verify-evidence &lt;this folder&gt; --policy FILE</code>.</p>`;
  const rows = changes.map((c) => {
    const differences =
      c.differences === undefined
        ? html`<span class="muted">the first policy recorded in the chain</span>`
        : c.differences.length === 0
          ? html`<span class="muted">no rule changed</span>`
          : c.differences.map(
              (d) =>
                html`<div class="${SIGNIFICANT_AREAS.has(d.area) ? "bad" : ""}"><b>${d.area}</b> <code>${describeDifference(d)}</code></div>`,
            );
    return html`<tr><td>${c.recordedAt}<div class="digest">seq ${c.seq}</div></td>
<td>${c.by.name}<div class="muted">${c.by.host} · ${c.by.kind === "os_user" ? "operating-system account" : "deployed function"} · ${c.by.source}</div></td>
<td>${c.from === null ? "—" : html`${c.from.name}<div class="digest">${c.from.digest}</div>`}</td>
<td>${c.to.name}<div class="digest">${c.to.digest}</div></td>
<td>${differences}</td></tr>`;
  });
  return html`<section id="policy-changes">
<h2>Policy changes in this range</h2>
${headline}
<table><thead><tr><th>Recorded</th><th>By</th><th>From</th><th>To</th><th>Rules changed</th></tr></thead>
<tbody>${rows}</tbody></table>
</section>`;
}

const short = (digest: string): string => digest.slice(0, 12);

/** Findings about the human review, shown in §3 rather than §2. */
const REVIEW_CLASSES: ReadonlySet<ProblemClass> = new Set(["approval_binding_mismatch", "review_missing"]);

function mark(ok: boolean, yes: string, no: string): SafeHtml {
  return ok ? html`<span class="ok">✓ ${yes}</span>` : html`<span class="bad">✗ ${no}</span>`;
}

function capped<T>(items: readonly T[]): { shown: readonly T[]; note: SafeHtml } {
  if (items.length <= REPORT_MAX_ROWS) return { shown: items, note: html`` };
  return {
    shown: items.slice(0, REPORT_MAX_ROWS),
    note: html`<p class="warn">Showing ${REPORT_MAX_ROWS} of ${items.length} rows; every session is in sessions.jsonl.</p>`,
  };
}

/** A warning when different policies carry one name (a name proves nothing; the digest does). */
function sharedNames(policies: ReportInput["manifest"]["policies"]): SafeHtml {
  const names = new Map<string, number>();
  for (const p of policies) names.set(p.name, (names.get(p.name) ?? 0) + 1);
  const shared = [...names].filter(([, n]) => n > 1).map(([name]) => name);
  if (shared.length === 0) return html``;
  return html`<div class="bad">Different policies share the name ${shared.join(", ")}: tell them apart by digest (see the policy changes).</div>`;
}

function header(input: ReportInput): SafeHtml {
  const m = input.manifest;
  const chain =
    m.chain.first === null || m.chain.last === null
      ? html`no entries in this range`
      : html`seq ${m.chain.first.seq}–${m.chain.last.seq} (${m.chain.entries} entries)`;
  return html`<h1>phigate evidence bundle</h1>
<p class="sub">Bundle <code>${m.bundleId}</code>, built ${m.createdAt} by ${m.generator.name} ${m.generator.version}</p>
<dl class="kv">
<dt>Range</dt><dd>${m.range.from} ≤ recorded &lt; ${m.range.to}</dd>
<dt>Chain</dt><dd>${chain}</dd>
<dt>Anchor (prev of first)</dt><dd class="digest">${m.chain.anchor ?? "—"}</dd>
<dt>Head (digest of last)</dt><dd class="digest">${m.chain.last?.digest ?? "—"}</dd>
<dt>Signing key</dt><dd class="digest">${m.signing.algorithm} · SHA-256 of SPKI ${m.signing.keyFingerprint}</dd>
<dt>Policies cited</dt><dd>${m.policies.map((p) => html`<div>${p.name} <span class="digest">${p.digest}</span> (${p.sessions} session(s))</div>`)}${m.policies.length === 0 ? "none" : ""}${sharedNames(m.policies)}</dd>
<dt>Analyzer</dt><dd>analyzer ${m.analyzer.version} (re-analyzed the exports for this report)</dd>
<dt>Catalogs analyzed against</dt><dd>${m.catalogs.map((c) => html`<div><span class="digest">${c.version}</span> (${c.sessions} session(s))</div>`)}${m.catalogs.length === 0 ? "none" : ""}</dd>
</dl>
<p class="muted">This report is a reading aid. The proof is the signed manifest: run
<code>phigate verify-evidence &lt;this folder&gt; --trusted-key ${m.signing.keyFingerprint}</code>
with the fingerprint you obtained from the gateway's operator.</p>`;
}

function whoAccessed(input: ReportInput): SafeHtml {
  const byPrincipal = new Map<string, SessionSummary[]>();
  for (const s of input.sessions)
    byPrincipal.set(s.principal.key, [...(byPrincipal.get(s.principal.key) ?? []), s]);
  const exports = input.sessions.filter((s) => s.status === "completed");
  const rows = exports.reduce((n, s) => n + (s.rowCount ?? 0), 0);
  const refused = input.sessions.filter((s) => ["rejected", "denied", "expired"].includes(s.status)).length;
  const principals = [...byPrincipal.values()].map((list) => {
    const first = list[0] as SessionSummary;
    const done = list.filter((s) => s.status === "completed");
    const tables = [...new Set(done.flatMap((s) => s.tables))].sort();
    return html`<tr><td>${first.principal.label}${first.principal.claimed === undefined ? "" : html`<div class="muted">${first.principal.claimed}</div>`}</td>
<td>${first.principal.repository ?? "—"}${first.principal.ref === undefined ? "" : html`<div class="muted">${first.principal.ref}</div>`}</td>
<td class="num">${list.length}</td><td class="num">${done.length}</td>
<td class="num">${done.reduce((n, s) => n + (s.rowCount ?? 0), 0)}</td>
<td>${tables.join(", ") || "—"}</td>
<td class="num">${list.filter((s) => ["rejected", "denied", "expired"].includes(s.status)).length}</td></tr>`;
  });
  const { shown, note } = capped(input.sessions);
  return html`<section id="who-accessed-phi">
<h2>1. Who accessed PHI</h2>
<div class="cards">
<div class="card"><b>${byPrincipal.size}</b>principals</div>
<div class="card"><b>${input.sessions.length}</b>sessions</div>
<div class="card"><b>${exports.length}</b>exports (data returned)</div>
<div class="card"><b>${rows}</b>rows returned</div>
<div class="card"><b>${refused}</b>refused</div>
</div>
<h3>By principal</h3>
<table><thead><tr><th>Principal</th><th>CI repository / ref</th><th>Sessions</th><th>Exports</th><th>Rows returned</th><th>Tables read</th><th>Refused</th></tr></thead>
<tbody>${principals}</tbody></table>
<h3>Every session</h3>${note}
<table><thead><tr><th>Created</th><th>Session</th><th>Principal</th><th>CI run</th><th>Client</th><th>Status</th><th>Tables</th><th>Columns read</th><th>Rows</th><th>Purpose</th></tr></thead>
<tbody>${shown.map(
    (
      s,
    ) => html`<tr><td>${s.createdAt}</td><td><code>${s.sessionId}</code><div class="digest">seq ${s.seq} · v${s.version}</div></td>
<td>${s.principal.label}</td><td>${s.principal.run ?? "—"}</td><td>${s.client.ip ?? "—"}</td><td>${s.status}${s.error === null ? "" : html` <span class="muted">(${s.error})</span>`}</td>
<td>${s.tables.join(", ") || "—"}</td><td>${s.columnsRead.join(", ") || "—"}</td><td class="num">${s.rowCount ?? "—"}</td><td>${s.purpose ?? "—"}</td></tr>`,
  )}</tbody></table>
</section>`;
}

function reanalysisCell(a: SessionSummary["assessment"]): SafeHtml {
  if (a === undefined) return html`<span class="warn">policy not available</span>`;
  if (a.reanalysis === "unavailable") return html`<span class="warn">catalog not available</span>`;
  return mark(a.reanalysis === "ok", "as recorded", "differs");
}

function authorizedFields(input: ReportInput): SafeHtml {
  const exports = input.sessions.filter((s) => s.status === "completed");
  const authorized = exports.filter((s) => s.assessment?.authorization === "ok").length;
  const maskingOk = exports.filter((s) => s.assessment?.masking === "ok").length;
  const reanalyzedOk = exports.filter((s) => s.assessment?.reanalysis === "ok").length;
  const columns = exports.reduce((n, s) => n + s.outputs.length, 0);
  const masked = exports.reduce((n, s) => n + s.outputs.filter((o) => o.masking !== null).length, 0);
  const r = input.manifest.results;
  const { shown, note } = capped(exports);
  const maskingNote = html`The masking each column needs was re-derived from the same policy and the recorded lineage:
<b>${maskingOk}</b> of ${exports.length} exports carry exactly the masking it requires.`;
  return html`<section id="authorized-fields">
<h2>2. Proof that only authorized fields were returned</h2>
<div class="cards">
<div class="card"><b class="${authorized === exports.length ? "ok" : "bad"}">${authorized} / ${exports.length}</b>exports granted by the policy they cite</div>
<div class="card"><b class="${maskingOk === exports.length ? "ok" : "bad"}">${maskingOk} / ${exports.length}</b>exports masked as the policy requires</div>
<div class="card"><b class="${reanalyzedOk === exports.length ? "ok" : "bad"}">${reanalyzedOk} / ${exports.length}</b>exports re-analyzed with the same outcome</div>
<div class="card"><b>${columns}</b>columns returned</div>
<div class="card"><b>${masked}</b>columns masked</div>
<div class="card"><b>${r.verified}</b>stored results re-hashed OK</div>
</div>
<p>Each export's stored classification was re-evaluated against the bundled policy its decision cites, for the
recorded principal. ${maskingNote}
Each export's SQL text was also analyzed again from scratch by analyzer ${input.manifest.analyzer.version}, against
the catalog snapshot it was recorded with (bundled under <code>catalogs/</code>), and decided and masked from the same
policy: <b>${reanalyzedOk}</b> of ${exports.length} would have been allowed, reviewed and masked as recorded.
Stored masked results re-hashed when the bundle was built: ${r.verified} matched, ${r.missing} missing, ${r.mismatched} altered.</p>
${note}
<table><thead><tr><th>Session</th><th>Policy</th><th>Columns returned (masking · lineage)</th><th>Rows</th><th>Result SHA-256</th><th>Granted</th><th>Masking</th><th>Re-analyzed</th></tr></thead>
<tbody>${shown.map((s) => {
    const a = s.assessment;
    const problems = (a?.findings ?? []).filter((f) => !REVIEW_CLASSES.has(f.class));
    return html`<tr><td><code>${s.sessionId}</code></td>
<td>${s.decision.policyName}<div class="digest">${short(s.decision.policyDigest)}</div></td>
<td>${s.outputs.map(
      (o) =>
        html`<div><b>${o.name}</b> · ${o.masking === null ? html`<span class="muted">unmasked</span>` : html`${o.masking.strategy} (${o.masking.rule})`} · <span class="muted">${o.sources.join(", ") || "constant"}</span></div>`,
    )}</td>
<td class="num">${s.rowCount ?? "—"}${s.truncated ? " (capped)" : ""}</td>
<td class="digest">${s.resultSha256 === null ? "—" : `${s.resultSha256.slice(0, 16)}…`}</td>
<td>${a === undefined ? html`<span class="warn">policy not available</span>` : mark(a.authorization === "ok", "granted", "not granted")}</td>
<td>${a === undefined ? html`<span class="warn">policy not available</span>` : mark(a.masking === "ok", "as required", "differs")}
${problems.filter((p) => p.class !== "reanalysis").map((p) => html`<div class="bad">${p.message}</div>`)}</td>
<td>${reanalysisCell(a)}
${problems.filter((p) => p.class === "reanalysis").map((p) => html`<div class="bad">${p.message}</div>`)}</td></tr>`;
  })}</tbody></table>
</section>`;
}

function reviewed(input: ReportInput): SafeHtml {
  const exports = input.sessions.filter((s) => s.status === "completed");
  const byPolicy = exports.filter((s) => s.assessment?.review === "policy").length;
  const byApprovers = exports.filter((s) => s.assessment?.review === "approved").length;
  const missing = exports.filter((s) => s.assessment?.review === "violation").length;
  const stopped = input.sessions.filter((s) =>
    ["rejected", "denied", "expired", "failed"].includes(s.status),
  );
  const { shown, note } = capped(exports);
  return html`<section id="exports-reviewed">
<h2>3. Evidence that each export was reviewed</h2>
<div class="cards">
<div class="card"><b>${exports.length}</b>exports</div>
<div class="card"><b>${byPolicy}</b>authorized by a policy rule</div>
<div class="card"><b>${byApprovers}</b>approved by people</div>
<div class="card"><b class="${missing === 0 ? "ok" : "bad"}">${missing}</b>without a required review</div>
<div class="card"><b>${stopped.length}</b>stopped (refused, denied, expired, failed)</div>
</div>
<p>Every export was decided before it ran, by the policy whose digest it records; exports the policy sends to
people carry the approvers' decisions, each bound to the exact statement, parameters and requester shown.</p>
${note}
<table><thead><tr><th>Session</th><th>Principal</th><th>Decision</th><th>Reviewed by</th><th>Check</th></tr></thead>
<tbody>${shown.map((s) => {
    const a = s.assessment;
    const reviewers =
      s.approvals.length === 0
        ? html`policy <b>${s.decision.policyName}</b> rule ${s.decision.rules.join(", ")}${s.decision.matchedPrincipal === null ? "" : html` for entry <code>${s.decision.matchedPrincipal}</code>`}`
        : html`${s.approvals.map((ap) => html`<div>${ap.approver}: ${ap.decision} at ${ap.at} ${mark(ap.bindingMatches, "binding", "binding differs")}</div>`)}<div class="muted">quorum ${s.approvalQuorum ?? "—"}</div>`;
    return html`<tr><td><code>${s.sessionId}</code><div class="digest">${s.createdAt}</div></td><td>${s.principal.label}</td>
<td>${s.decision.outcome}<div class="muted">${s.decision.reasons.join("; ")}</div></td><td>${reviewers}</td>
<td>${a === undefined ? html`<span class="warn">policy not available</span>` : mark(a.review !== "violation", a.review === "approved" ? "approved" : "policy decision", "review missing")}
${(a?.findings ?? []).filter((f) => REVIEW_CLASSES.has(f.class)).map((f) => html`<div class="bad">${f.message}</div>`)}</td></tr>`;
  })}</tbody></table>
<h3>Requests that were stopped</h3>
<table><thead><tr><th>Session</th><th>Principal</th><th>Status</th><th>Why</th></tr></thead>
<tbody>${stopped.map(
    (s) =>
      html`<tr><td><code>${s.sessionId}</code><div class="digest">${s.createdAt}</div></td><td>${s.principal.label}</td><td>${s.status}</td><td>${s.error ?? s.decision.reasons.join("; ")}</td></tr>`,
  )}</tbody></table>
</section>`;
}

/** The report's HTML (self-contained: inline style, no script, strict CSP). */
export function renderReport(input: ReportInput): string {
  return page(
    `Evidence ${input.manifest.bundleId}`,
    html`${header(input)}${policyChanges(input)}${whoAccessed(input)}${authorizedFields(input)}${reviewed(input)}`,
  );
}
