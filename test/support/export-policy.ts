// A policy for large-export tests and the bench: the demo masking rules, no risk rules, a high row cap.

/**
 * Policy YAML letting the nightly report job read the demo tables in bulk (up to `maxRows` rows), masked as in
 * the demo. `requestsPerMinute`/`burst` raise the per-caller rate limit (load tests).
 */
export function exportPolicy(
  maxRows: number,
  statementTimeoutMs = 300_000,
  rate: { requestsPerMinute: number; burst: number } = { requestsPerMinute: 600, burst: 60 },
): string {
  return `version: 1
name: bulk-export
issuers:
  dev: dev-idp
defaults:
  maxRows: ${maxRows}
  statementTimeoutMs: ${statementTimeoutMs}
principals:
  - id: nightly-report
    match:
      issuer: [dev]
      sub: "repo:acme/ehr-reports:ref:refs/heads/main"
    grants:
      - tables: [public.patients, public.encounters, public.medications]
    limits:
      maxRows: ${maxRows}
      statementTimeoutMs: ${statementTimeoutMs}
      requestsPerMinute: ${rate.requestsPerMinute}
      burst: ${rate.burst}
masking:
  onTransform: strictest
  wholeRow: deny
  rules:
    public.patients.ssn: { strategy: redact }
    public.patients.mrn: { strategy: tokenize, prefix: mrn }
    public.patients.first_name: { strategy: tokenize, prefix: name, normalize: [case, whitespace] }
    public.patients.last_name: { strategy: tokenize, prefix: name, normalize: [case, whitespace] }
    public.patients.dob: { strategy: generalize, to: birth_year }
    public.patients.zip: { strategy: generalize, to: zip3 }
    public.patients.phone: { strategy: redact }
    public.patients.email: { strategy: redact }
    public.patients.address: { strategy: redact }
    public.patients.city: { strategy: redact }
    public.encounters.admitted_at: { strategy: generalize, to: year }
    public.encounters.discharged_at: { strategy: generalize, to: year }
    public.medications.started_at: { strategy: generalize, to: year }
  detectors:
    columns: [public.encounters.notes]
    kinds: [ssn, phone, email, mrn, date]
    mrnPattern: "MRN-\\\\d{7}"
`;
}
