// The approver's page: who asks and from which CI run, the exact SQL (highlighted), why, the masking, the time left, the form.

import type { ApprovalState } from "#shared/approval/approval-request.ts";
import { principalLabel, samePerson } from "#shared/identity/principal.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { escapeHtml, visible } from "#shared/web/html-template.ts";
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

/**
 * Text as HTML: invisible and bidi characters first become visible `⟨U+XXXX⟩` markers (so nothing the requester
 * or an approver wrote can make the page read differently from what is recorded), then it is escaped.
 */
const e = (text: string): string => escapeHtml(visible(text));

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

function row(label: string, value: string | undefined): string {
  return value === undefined || value === "" ? "" : `<dt>${e(label)}</dt><dd>${value}</dd>`;
}

function requesterSection(record: SessionRecord): string {
  const p = record.principal;
  const c = p.claims;
  const link = runLink(c);
  const run =
    c.run_id === undefined
      ? undefined
      : link === undefined
        ? e(c.run_id)
        : `<a href="${e(link)}" rel="noreferrer noopener">${e(c.run_id)}${c.run_attempt === undefined ? "" : ` (attempt ${e(c.run_attempt)})`}</a>`;
  return `<section aria-labelledby="who"><h2 id="who">Requester</h2><dl>
${row("Subject", `<code>${e(p.subject)}</code>`)}${row("Issuer", e(p.issuer))}
${row("Repository", c.repository === undefined ? undefined : e(c.repository))}
${row("Workflow", c.workflow_ref === undefined ? undefined : e(c.workflow_ref))}
${row("Ref", c.ref === undefined ? undefined : e(c.ref))}${row("Commit", c.sha === undefined ? undefined : `<code>${e(c.sha)}</code>`)}
${row("Run", run)}${row("Actor", c.actor === undefined ? undefined : e(c.actor))}
${row("Event", c.event_name === undefined ? undefined : e(c.event_name))}${row("Environment", c.environment === undefined ? undefined : e(c.environment))}
${row("Purpose", record.request.purpose === null ? '<span class="muted">none given</span>' : e(record.request.purpose))}
${row("Requested", e(record.createdAt))}</dl></section>`;
}

function parametersSection(record: SessionRecord): string {
  const { params } = record.request;
  if (params.count === 0) return `<p class="muted">No parameters.</p>`;
  const shown =
    params.mode === "kept" && params.values !== undefined
      ? params.values.map((v, i) => `<li><code>$${i + 1}</code> = <code>${e(JSON.stringify(v))}</code></li>`)
      : (params.digests ?? []).map(
          (d, i) =>
            `<li><code>$${i + 1}</code> keyed digest <span class="digest">${e(d.slice(0, 16))}…</span></li>`,
        );
  const note =
    params.mode === "kept"
      ? ""
      : `<p class="muted">The policy keeps parameter values out of records and pages; the approval is bound to these digests.</p>`;
  return `<ul>${shown.join("")}</ul>${note}`;
}

function maskingSection(record: SessionRecord): string {
  const plan = new Map((record.masking?.plan ?? []).map((m) => [m.position, m]));
  const rows = record.classification.outputs.map((o) => {
    const m = plan.get(o.position);
    const source = o.sources.map((s) => `${s.table}.${s.column}`).join(", ");
    const how =
      m === undefined
        ? `<span class="muted">returned as is</span>`
        : `<strong>${e(m.strategy)}</strong> <span class="muted rule">${e(m.rule)}</span>`;
    return `<tr><td><code>${e(o.name)}</code></td><td class="wide">${source === "" ? '<span class="muted">—</span>' : e(source)}</td><td>${how}</td></tr>`;
  });
  return `<table><thead><tr><th scope="col">Column</th><th scope="col" class="wide">From</th><th scope="col">Masking</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function decisionsSection(state: ApprovalState): string {
  const approvals = state.decisions.filter((d) => d.decision === "approve").length;
  const items = state.decisions.map(
    (d) =>
      `<li><strong class="${d.decision === "approve" ? "approved" : "denied"}">${d.decision === "approve" ? "Approved" : "Denied"}</strong> by ${e(d.approver)} at ${e(d.at)}${d.comment === null ? "" : ` — “${e(d.comment)}”`}</li>`,
  );
  return `<p>${approvals} of ${state.quorum} approval${state.quorum === 1 ? "" : "s"}; any deny ends the request.</p>${items.length === 0 ? "" : `<ul>${items.join("")}</ul>`}`;
}

function formSection(input: ApprovalPageInput): string {
  const { state, viewer, now } = input;
  const open = state.status === "pending" && now.getTime() < Date.parse(state.expiresAt);
  if (!open) return "";
  if (state.decisions.some((d) => samePerson({ key: d.approverKey, subject: d.subject }, viewer))) {
    return `<section><p>You have decided on this request; it waits for other approvers.</p></section>`;
  }
  return `<section aria-labelledby="decide"><h2 id="decide">Your decision</h2>
<form method="post" action="/approvals/${e(state.approvalId)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<input type="hidden" name="binding" value="${escapeHtml(state.binding)}">
<label for="comment">Comment (recorded with your decision)</label>
<textarea id="comment" name="comment" maxlength="2000"></textarea>
<div class="actions">
<button class="approve" type="submit" name="decision" value="approve">Approve this statement, once</button>
<button class="deny" type="submit" name="decision" value="deny">Deny</button>
</div>
<p class="muted">You are signed in as ${e(viewer.label)}. Approving runs exactly the statement above, with these parameters, for this requester, once.</p>
</form></section>`;
}

/** The page body (HTML built from escaped pieces only). */
export function renderApprovalPage(input: ApprovalPageInput): string {
  const { state, record, now } = input;
  const expired = state.status === "pending" && now.getTime() >= Date.parse(state.expiresAt);
  const status = expired ? "expired" : state.status;
  const banner =
    input.done === undefined
      ? ""
      : `<div class="banner" role="status">Your decision (${input.done === "approve" ? "approve" : "deny"}) was recorded.</div>`;
  const estimate = record.approval?.estimatedRows ?? record.decision.estimatedRows ?? null;
  return `<h1>Approve a PHI query? <span class="badge ${e(status)}">${e(status)}</span></h1>${banner}
<section aria-labelledby="when"><h2 id="when">Request</h2><dl>
${row("Requested by", `<strong>${e(principalLabel(record.principal))}</strong>`)}
${row("Time left", `<strong>${e(timeLeft(state.expiresAt, now))}</strong> <span class="muted">(expires ${e(state.expiresAt)})</span>`)}
${row("Estimated rows", estimate === null ? '<span class="muted">not estimated</span>' : e(Math.round(estimate).toLocaleString("en-US")))}
${row("Row cap", e(record.decision.limits.maxRows.toLocaleString("en-US")))}
${row("Session", `<code>${e(record.sessionId)}</code>`)}
${row("Binding", `<span class="digest">${e(state.binding)}</span>`)}</dl></section>
<section aria-labelledby="sql"><h2 id="sql">The exact statement</h2><pre class="sql"><code>${highlightSql(record.request.sql)}</code></pre>
<h2>Parameters</h2>${parametersSection(record)}</section>
<section aria-labelledby="why"><h2 id="why">Why it needs a human</h2><ul>${state.reasons.map((r) => `<li>${e(r)}</li>`).join("")}</ul></section>
<section aria-labelledby="masking"><h2 id="masking">What the requester will see</h2>${maskingSection(record)}</section>
${requesterSection(record)}
<section aria-labelledby="decisions"><h2 id="decisions">Decisions</h2>${decisionsSection(state)}</section>
${formSection(input)}`;
}
