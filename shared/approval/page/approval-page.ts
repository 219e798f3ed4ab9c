// The approver's page: who asks and from which CI run, the exact SQL (highlighted), why, the masking, the time left, the form.

import type { ApprovalState } from "#shared/approval/approval-request.ts";
import { claimedIdentity, principalName, samePerson } from "#shared/identity/principal.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { html, type SafeHtml } from "#shared/web/html-template.ts";
import { highlightSql } from "./highlight-sql.ts";

/** What the page shows, and to whom. */
export interface ApprovalPageInput {
  readonly state: ApprovalState;
  readonly record: SessionRecord;
  /** The signed-in approver. */
  readonly viewer: { readonly label: string; readonly key: string; readonly subject: string };
  /** The CSRF token for this session and approval (the form posts it back). */
  readonly csrf: string;
  readonly now: Date;
  /** A decision the viewer just made (after the redirect that follows the form post). */
  readonly done?: "approve" | "deny" | undefined;
}

/** "1 h 05 min" / "4 min 10 s" / "expired". */
export function timeLeft(expiresAt: string, now: Date): string {
  const seconds = Math.floor((Date.parse(expiresAt) - now.getTime()) / 1000);
  if (seconds <= 0) return "expired";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

/** A link to the CI run when the token's claims name a GitHub repository and run id (well-formed only). */
export function runLink(claims: SessionRecord["principal"]["claims"]): string | undefined {
  const { repository, run_id: runId } = claims;
  if (repository === undefined || runId === undefined) return undefined;
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository) || !/^\d{1,20}$/.test(runId)) return undefined;
  return `https://github.com/${repository}/actions/runs/${runId}`;
}

/** A definition-list row, left out when there is no value. */
function row(label: string, value: SafeHtml | string | undefined): SafeHtml | "" {
  return value === undefined || value === "" ? "" : html`<dt>${label}</dt><dd>${value}</dd>`;
}

const NONE = (text: string): SafeHtml => html`<span class="muted">${text}</span>`;

/** A claim as text, or undefined when the token did not carry it. */
const claim = (value: string | undefined): string | undefined => value;

/** The requester by name (subject @ issuer); what its token claims to be, as a claim. */
function requestedBy(record: SessionRecord): SafeHtml {
  const claimed = claimedIdentity(record.principal);
  return html`<strong>${principalName(record.principal)}</strong>${claimed === undefined ? "" : html` <span class="muted">(${claimed})</span>`}`;
}

function requesterSection(record: SessionRecord): SafeHtml {
  const p = record.principal;
  const c = p.claims;
  const link = runLink(c);
  const attempt = c.run_attempt === undefined ? "" : ` (attempt ${c.run_attempt})`;
  const run =
    c.run_id === undefined
      ? undefined
      : link === undefined
        ? c.run_id
        : html`<a href="${link}" rel="noreferrer noopener">${c.run_id}${attempt}</a>`;
  return html`<section aria-labelledby="who"><h2 id="who">Requester</h2><dl>
${row("Subject", html`<code>${p.subject}</code>`)}${row("Issuer", p.issuer)}
${row("Repository", claim(c.repository))}
${row("Workflow", claim(c.workflow_ref))}
${row("Ref", claim(c.ref))}${row("Commit", c.sha === undefined ? undefined : html`<code>${c.sha}</code>`)}
${row("Run", run)}${row("Actor", claim(c.actor))}
${row("Event", claim(c.event_name))}${row("Environment", claim(c.environment))}
${row("Purpose", record.request.purpose === null ? NONE("none given") : record.request.purpose)}
${row("Requested", record.createdAt)}</dl></section>`;
}

function parametersSection(record: SessionRecord): SafeHtml {
  const { params } = record.request;
  if (params.count === 0) return html`<p class="muted">No parameters.</p>`;
  const shown =
    params.mode === "kept" && params.values !== undefined
      ? params.values.map((v, i) => html`<li><code>$${i + 1}</code> = <code>${JSON.stringify(v)}</code></li>`)
      : (params.digests ?? []).map(
          (d, i) =>
            html`<li><code>$${i + 1}</code> keyed digest <span class="digest">${d.slice(0, 16)}…</span></li>`,
        );
  const note =
    params.mode === "kept"
      ? ""
      : html`<p class="muted">The policy keeps parameter values out of records and pages; the approval is bound to these digests.</p>`;
  return html`<ul>${shown}</ul>${note}`;
}

function maskingSection(record: SessionRecord): SafeHtml {
  const plan = new Map((record.masking?.plan ?? []).map((m) => [m.position, m]));
  const rows = record.classification.outputs.map((o) => {
    const m = plan.get(o.position);
    const source = o.sources.map((s) => `${s.table}.${s.column}`).join(", ");
    const how =
      m === undefined
        ? NONE("returned as is")
        : html`<strong>${m.strategy}</strong> <span class="muted rule">${m.rule}</span>`;
    return html`<tr><td><code>${o.name}</code></td><td class="wide">${source === "" ? NONE("—") : source}</td><td>${how}</td></tr>`;
  });
  return html`<table><thead><tr><th scope="col">Column</th><th scope="col" class="wide">From</th><th scope="col">Masking</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function decisionsSection(state: ApprovalState): SafeHtml {
  const approvals = state.decisions.filter((d) => d.decision === "approve").length;
  const items = state.decisions.map(
    (d) =>
      html`<li><strong class="${d.decision === "approve" ? "approved" : "denied"}">${d.decision === "approve" ? "Approved" : "Denied"}</strong> by ${d.approver} at ${d.at}${d.comment === null ? "" : html` — “${d.comment}”`}</li>`,
  );
  return html`<p>${approvals} of ${state.quorum} approval${state.quorum === 1 ? "" : "s"}; any deny ends the request.</p>${items.length === 0 ? "" : html`<ul>${items}</ul>`}`;
}

function formSection(input: ApprovalPageInput): SafeHtml | "" {
  const { state, viewer, now } = input;
  const open = state.status === "pending" && now.getTime() < Date.parse(state.expiresAt);
  if (!open) return "";
  if (state.decisions.some((d) => samePerson({ key: d.approverKey, subject: d.subject }, viewer))) {
    return html`<section><p>You have decided on this request; it waits for other approvers.</p></section>`;
  }
  return html`<section aria-labelledby="decide"><h2 id="decide">Your decision</h2>
<form method="post" action="/approvals/${state.approvalId}">
<input type="hidden" name="csrf" value="${input.csrf}">
<input type="hidden" name="binding" value="${state.binding}">
<label for="comment">Comment (recorded with your decision)</label>
<textarea id="comment" name="comment" maxlength="2000"></textarea>
<div class="actions">
<button class="approve" type="submit" name="decision" value="approve">Approve this statement, once</button>
<button class="deny" type="submit" name="decision" value="deny">Deny</button>
</div>
<p class="muted">You are signed in as ${viewer.label}. Approving runs exactly the statement above, with these parameters, for this requester, once.</p>
</form></section>`;
}

/**
 * The page body, built only with the escaping `html` tag: every text the requester, an approver or the token supplied
 * is escaped, and its invisible and bidi characters become visible `⟨U+XXXX⟩` markers first (so nothing anyone wrote
 * can make the page read differently from what is recorded).
 */
export function renderApprovalPage(input: ApprovalPageInput): SafeHtml {
  const { state, record, now } = input;
  const expired = state.status === "pending" && now.getTime() >= Date.parse(state.expiresAt);
  const status = expired ? "expired" : state.status;
  const banner =
    input.done === undefined
      ? ""
      : html`<div class="banner" role="status">Your decision (${input.done === "approve" ? "approve" : "deny"}) was recorded.</div>`;
  const estimate = record.approval?.estimatedRows ?? record.decision.estimatedRows ?? null;
  return html`<h1>Approve a PHI query? <span class="badge ${status}">${status}</span></h1>${banner}
<section aria-labelledby="when"><h2 id="when">Request</h2><dl>
${row("Requested by", requestedBy(record))}
${row("Time left", html`<strong>${timeLeft(state.expiresAt, now)}</strong> <span class="muted">(expires ${state.expiresAt})</span>`)}
${row("Estimated rows", estimate === null ? NONE("not estimated") : Math.round(estimate).toLocaleString("en-US"))}
${row("Row cap", record.decision.limits.maxRows.toLocaleString("en-US"))}
${row("Session", html`<code>${record.sessionId}</code>`)}
${row("Binding", html`<span class="digest">${state.binding}</span>`)}</dl></section>
<section aria-labelledby="sql"><h2 id="sql">The exact statement</h2><pre class="sql"><code>${highlightSql(record.request.sql)}</code></pre>
<h2>Parameters</h2>${parametersSection(record)}</section>
<section aria-labelledby="why"><h2 id="why">Why it needs a human</h2><ul>${state.reasons.map((r) => html`<li>${r}</li>`)}</ul></section>
<section aria-labelledby="masking"><h2 id="masking">What the requester will see</h2>${maskingSection(record)}</section>
${requesterSection(record)}
<section aria-labelledby="decisions"><h2 id="decisions">Decisions</h2>${decisionsSection(state)}</section>
${formSection(input)}`;
}
