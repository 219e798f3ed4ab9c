// The replay as a page an auditor reads: request → decision → approvals → execution → masked response, with digests.

import type { Replay } from "#shared/sessions/replay.ts";
import { cellText, html, type SafeHtml } from "#shared/web/html-template.ts";
import { page } from "#shared/web/page.ts";

function kv(pairs: readonly [string, SafeHtml | string | number | null | undefined][]): SafeHtml {
  return html`<dl class="kv">${pairs.map(([k, v]) => html`<dt>${k}</dt><dd>${v ?? "—"}</dd>`)}</dl>`;
}

const digest = (value: string | null | undefined): SafeHtml =>
  html`<span class="digest">${value ?? "—"}</span>`;

function requestStep(r: Replay["exchange"]["request"]): SafeHtml {
  const claims = Object.entries(r.principal.claims).map(([k, v]) => `${k}=${v}`);
  return html`<div class="step"><h2>1. Request</h2>
${kv([
  ["Received", r.at],
  ["Principal", html`${r.principal.subject} <span class="muted">(${r.principal.issuer})</span>`],
  ["Groups", r.principal.groups.join(", ") || "—"],
  ["Claims", claims.length === 0 ? "—" : html`${claims.map((c) => html`<div>${c}</div>`)}`],
  ["Token id", r.principal.tokenId],
  ["Client", `${r.client.ip ?? "unknown address"} · ${r.client.userAgent ?? "unknown agent"}`],
  ["Purpose", r.purpose],
  ["Idempotency key", r.idempotencyKey],
  [
    "Parameters",
    `${r.params.count} (${r.params.mode === "digest" ? "kept as keyed digests" : "kept as values"})`,
  ],
  ["SQL SHA-256", digest(r.sqlDigest)],
  ["Request digest", digest(r.requestDigest)],
])}
<h3>SQL exactly as received</h3><pre>${r.sql}</pre>
${r.params.digests === undefined || r.params.digests.length === 0 ? "" : html`<h3>Parameter digests</h3>${r.params.digests.map((d, i) => html`<div>$${i + 1} ${digest(d)}</div>`)}`}
${r.params.values === undefined ? "" : html`<h3>Parameter values</h3>${r.params.values.map((v, i) => html`<div>$${i + 1} <code>${cellText(v)}</code></div>`)}`}
</div>`;
}

function classificationStep(c: Replay["exchange"]["classification"]): SafeHtml {
  return html`<div class="step"><h2>2. Classification</h2>
${kv([
  ["Kind", `${c.kind} (${c.statementType})`],
  ["Tables", c.relations.map((r) => `${r.schema}.${r.table} (${r.kind})`).join(", ") || "—"],
  [
    "Functions",
    c.functions.map((f) => (f.schema === undefined ? f.name : `${f.schema}.${f.name}`)).join(", ") || "—",
  ],
  ["Whole rows", c.wholeRows.map((w) => `${w.schema}.${w.table}`).join(", ") || "—"],
  ["Limit", c.limit],
])}
<table><thead><tr><th>Column read</th><th>Clauses</th></tr></thead><tbody>${c.columns.map(
    (col) =>
      html`<tr><td>${col.schema}.${col.table}.${col.column}</td><td>${col.clauses.join(", ")}</td></tr>`,
  )}</tbody></table>
<table><thead><tr><th>#</th><th>Output</th><th>Kind</th><th>Sources</th><th>Transforms</th></tr></thead><tbody>${c.outputs.map(
    (o) =>
      html`<tr><td class="num">${o.position + 1}</td><td>${o.name}</td><td>${o.kind}</td><td>${[...o.sources.map((s) => `${s.schema}.${s.table}.${s.column}`), ...o.wholeRows.map((w) => `${w.schema}.${w.table}.*`)].join(", ") || "—"}</td><td>${o.transforms.join(", ") || "—"}</td></tr>`,
  )}</tbody></table></div>`;
}

function decisionStep(d: Replay["exchange"]["decision"], masking: Replay["exchange"]["masking"]): SafeHtml {
  const cls = d.outcome === "allow" ? "ok" : d.outcome === "deny" ? "bad" : "warn";
  return html`<div class="step"><h2>3. Decision</h2>
${kv([
  ["Outcome", html`<span class="${cls}">${d.outcome}</span>`],
  ["Reasons", html`${d.reasons.map((r) => html`<div>${r}</div>`)}`],
  ["Rules", d.rules.join(", ")],
  ["Policy entry", d.matchedPrincipal],
  ["Policy", html`${d.policy.name} ${digest(d.policy.digest)}`],
  ["Limits", `${d.limits.maxRows} rows, ${d.limits.timeoutMs} ms`],
])}
${masking === null || masking.plan.length === 0 ? "" : html`<h3>Masking plan</h3><table><thead><tr><th>Column</th><th>Rule</th><th>Strategy</th></tr></thead><tbody>${masking.plan.map((m) => html`<tr><td>${m.column}</td><td>${m.rule}</td><td>${m.strategy}</td></tr>`)}</tbody></table>`}
</div>`;
}

function approvalsStep(a: Replay["exchange"]["approvals"]): SafeHtml {
  if (a.request === null && a.decisions.length === 0) {
    return html`<div class="step"><h2>4. Approvals</h2><p class="muted">None required: the policy decided alone.</p></div>`;
  }
  const binding = a.request?.binding;
  return html`<div class="step"><h2>4. Approvals</h2>
${
  a.request === null
    ? ""
    : kv([
        ["Request", a.request.id],
        ["Expires", a.request.expiresAt],
        ["Quorum", a.request.quorum],
        ["Estimated rows", a.request.estimatedRows],
        ["Binding", digest(a.request.binding)],
      ])
}
<table><thead><tr><th>Approver</th><th>Decision</th><th>At</th><th>Comment</th><th>Binding</th></tr></thead><tbody>${a.decisions.map(
    (d) =>
      html`<tr><td>${d.approver}</td><td>${d.decision}</td><td>${d.at}</td><td>${d.comment}</td><td>${digest(d.binding)} ${d.binding === binding ? html`<span class="ok">matches</span>` : html`<span class="bad">differs</span>`}</td></tr>`,
  )}</tbody></table></div>`;
}

function executionStep(e: Replay["exchange"]["execution"], r: Replay["exchange"]["response"]): SafeHtml {
  return html`<div class="step"><h2>5. Execution</h2>
${
  e === null
    ? html`<p class="muted">Not executed.</p>`
    : kv([
        ["Started", e.startedAt],
        ["Finished", e.finishedAt],
        ["Duration", e.durationMs === null ? null : `${e.durationMs} ms`],
        ["Rows", e.rowCount],
        ["Truncated by the row cap", e.truncated === null ? null : String(e.truncated)],
      ])
}
${r.error === null ? "" : html`<p class="bad">Failed: ${r.error.code} — ${r.error.message} (HTTP ${r.error.status})</p>`}
</div>`;
}

function responseStep(r: Replay["exchange"]["response"]): SafeHtml {
  const integrity = {
    verified: html`<span class="ok">stored result re-hashed: matches the record</span>`,
    missing: html`<span class="bad">the stored result is missing</span>`,
    digest_mismatch: html`<span class="bad">the stored result does not match the recorded SHA-256: rows withheld</span>`,
    none: html`<span class="muted">no result was stored</span>`,
  }[r.integrity];
  return html`<div class="step"><h2>6. Masked response</h2>
${kv([
  ["Integrity", integrity],
  ["Object", r.object?.key],
  ["SHA-256", digest(r.object?.sha256)],
  ["Size", r.object === null ? null : `${r.object.size} bytes`],
  [
    "Rows",
    r.rowCount === null ? null : `${r.rowCount}${r.truncated ? " (capped)" : ""}; shown here: ${r.rowsShown}`,
  ],
  ["Delivered", r.delivery],
])}
${
  r.columns.length === 0
    ? ""
    : html`<table><thead><tr>${r.columns.map((c) => html`<th>${c.name}<div class="muted">${c.type}${c.masking === null ? "" : html` · ${c.masking.strategy} (${c.masking.rule})`}</div></th>`)}</tr></thead>
<tbody>${r.rows.map((row) => html`<tr>${row.map((v) => html`<td>${cellText(v)}</td>`)}</tr>`)}</tbody></table>`
}
</div>`;
}

/** The replay as a self-contained HTML page (every value escaped; no script; strict CSP). */
export function renderReplay(replay: Replay): string {
  const x = replay.exchange;
  return page(
    `Replay ${replay.sessionId}`,
    html`<h1>Session replay</h1>
<p class="sub"><code>${replay.sessionId}</code> · status <b>${replay.status}</b></p>
<div class="timeline">${requestStep(x.request)}${classificationStep(x.classification)}${decisionStep(x.decision, x.masking)}${approvalsStep(x.approvals)}${executionStep(x.execution, x.response)}${responseStep(x.response)}</div>
<h2>Status transitions</h2>
<table><thead><tr><th>Status</th><th>At</th><th>Note</th></tr></thead><tbody>${replay.transitions.map((t) => html`<tr><td>${t.status}</td><td>${t.at}</td><td>${t.note ?? ""}</td></tr>`)}</tbody></table>
<h2>Record versions in the hash chain</h2>
<table><thead><tr><th>Seq</th><th>Version</th><th>Status</th><th>Recorded</th><th>Prev</th><th>Digest</th><th>Check</th></tr></thead><tbody>${replay.versions.map(
      (v) =>
        html`<tr><td class="num">${v.seq}</td><td class="num">${v.version}</td><td>${v.status}</td><td>${v.recordedAt}</td><td>${digest(v.prev)}</td><td>${digest(v.digest)}</td><td>${v.digestVerified ? html`<span class="ok">recomputes</span>` : html`<span class="bad">does not recompute</span>`}</td></tr>`,
    )}</tbody></table>`,
  );
}
