// What each Lambda may use: decides its environment, its IAM grants and what its composition root builds.

/** The AWS resources one function uses; anything not listed is neither wired nor granted. */
export interface FunctionCapabilities {
  /** Runs statements through the RDS Data API (and so needs the SQL parser). */
  readonly database: boolean;
  /** Reads the key-material secret (keyed parameter digests, tokenization). */
  readonly keys: boolean;
  /** `read`: GetItem on session items only; `write`: also the chain and idempotency items, transactionally. */
  readonly sessions: "read" | "write";
  /** `read`: GetObject on results; `write`: also PutObject (write-once). */
  readonly results: "read" | "write";
}

/** Capabilities by route id (every route in `shared/http/routes.ts` has an entry; a test checks it). */
export const ROUTE_CAPABILITIES: Readonly<Record<string, FunctionCapabilities>> = {
  "post-query": { database: true, keys: true, sessions: "write", results: "write" },
  "get-session": { database: false, keys: false, sessions: "read", results: "read" },
  "get-session-replay": { database: false, keys: false, sessions: "read", results: "read" },
  /** Reads the chain and re-hashes results; signing and the evidence bucket are not wired on AWS yet. */
  "post-evidence-bundle": { database: false, keys: false, sessions: "read", results: "read" },
  // The approval routes' own stores (approvals table, state machine) are AWS phase 2; until then they answer 503.
  "post-approval-decision": { database: false, keys: false, sessions: "write", results: "read" },
  "get-approval-page": { database: false, keys: true, sessions: "read", results: "read" },
  "post-approval-page": { database: false, keys: true, sessions: "write", results: "read" },
  "approval-sign-in": { database: false, keys: true, sessions: "read", results: "read" },
};

/** The capabilities of a route, or an error naming the route when it has none. */
export function capabilitiesOf(routeId: string): FunctionCapabilities {
  const capabilities = ROUTE_CAPABILITIES[routeId];
  if (capabilities === undefined) throw new TypeError(`route ${routeId} has no AWS capabilities`);
  return capabilities;
}
