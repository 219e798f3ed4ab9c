// The local host's composition root: builds every adapter once under DATA_DIR and serves the shared handlers.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { lockDataDir } from "#infra/local/data-dir-lock.ts";
import { DevIdp } from "#infra/local/dev-idp.ts";
import { DEV_IDP_PATH, devIdpRoutes } from "#infra/local/dev-idp-routes.ts";
import { ensureSeeded } from "#infra/local/seed-embedded.ts";
import type { LocalRoute, RunningServer } from "#infra/local/server.ts";
import { startServer } from "#infra/local/server.ts";
import { FileEvidenceStore } from "#shared/adapters/local/file-evidence-store.ts";
import { FileKeyProvider } from "#shared/adapters/local/file-key-provider.ts";
import { FileObjectStore } from "#shared/adapters/local/file-object-store.ts";
import { FilePolicyArchive } from "#shared/adapters/local/file-policy-archive.ts";
import { FileSessionStore } from "#shared/adapters/local/file-session-store.ts";
import { LocalSigner } from "#shared/adapters/local/local-signer.ts";
import { PgExecutor } from "#shared/adapters/local/pg-executor.ts";
import { PgliteExecutor } from "#shared/adapters/local/pglite-executor.ts";
import type { LocalConfig } from "#shared/config/local-env.ts";
import { createHandlers, type HandlerDeps } from "#shared/http/handler-registry.ts";
import { RateLimiter } from "#shared/http/rate-limiter.ts";
import type { InProcessIssuer } from "#shared/identity/token-verifier.ts";
import { createTokenVerifier } from "#shared/identity/token-verifier.ts";
import type { Logger } from "#shared/log.ts";
import { loadPolicyFile } from "#shared/policy/load.ts";
import { type Clock, type SqlExecutor, systemClock } from "#shared/ports.ts";
import { DecisionCache } from "#shared/sessions/decide-request.ts";
import { createStatementAnalyzer } from "#shared/sql/analyzer.ts";

/** A running local gateway. */
export interface LocalHost {
  readonly url: string;
  readonly config: LocalConfig;
  readonly devIdp: DevIdp | undefined;
  readonly deps: HandlerDeps;
  readonly database: {
    readonly kind: "pglite" | "postgres";
    readonly seeded: "now" | "already" | "external";
  };
  close(): Promise<void>;
}

/** Optional overrides for tests (fault injection wraps real adapters, never replaces them with fakes). */
export interface LocalHostOverrides {
  readonly clock?: Clock;
  readonly wrapDeps?: (deps: HandlerDeps) => HandlerDeps;
}

/**
 * Starts the gateway: policy first (a broken policy refuses to start), then the server (its URL names the
 * dev IdP's issuer), the keys, stores and database under DATA_DIR, and finally the handlers. The policy text is
 * archived by digest (DATA_DIR/policies) so evidence bundles can cite it long after it changes.
 */
export async function startLocalHost(
  config: LocalConfig,
  logger: Logger,
  overrides: LocalHostOverrides = {},
): Promise<LocalHost> {
  const policy = await loadPolicyFile(config.policyPath);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(config.dataDir);
  const closers: (() => Promise<void>)[] = [unlock];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const clock = overrides.clock ?? systemClock;
    const server: RunningServer = await startServer({ host: config.host, port: config.port, logger });
    closers.push(() => server.close());
    const baseUrl = config.publicUrl ?? server.url;
    const keys = new FileKeyProvider(join(config.dataDir, "keys"));
    const devIdp =
      config.mode === "development"
        ? await DevIdp.open({
            keysDir: join(config.dataDir, "keys"),
            issuer: `${server.url}${DEV_IDP_PATH}`,
            audience: config.audience,
          })
        : undefined;
    const inProcess: InProcessIssuer[] =
      devIdp === undefined
        ? []
        : [
            {
              issuer: devIdp.issuer,
              jwksUri: `${devIdp.issuer}/.well-known/jwks.json`,
              audience: [config.audience],
              groupsClaim: "groups",
              jwks: devIdp.jwks(),
            },
          ];
    const verifier = createTokenVerifier([...inProcess, ...config.issuers]);
    const sessions = await FileSessionStore.open({
      directory: join(config.dataDir, "sessions"),
      clock,
      logger,
    });
    closers.push(() => sessions.close());
    const objects = new FileObjectStore({
      directory: join(config.dataDir, "objects"),
      linkKey: await keys.key("result-link"),
      baseUrl: () => baseUrl,
      clock,
    });
    const policyArchive = new FilePolicyArchive(join(config.dataDir, "policies"));
    await policyArchive.put(policy.text);
    const signer = await LocalSigner.open(join(config.dataDir, "keys"));
    const evidence = new FileEvidenceStore(join(config.dataDir, "evidence"));
    let executor: SqlExecutor;
    let database: LocalHost["database"];
    if (config.databaseUrl === undefined) {
      const pglite = await PgliteExecutor.start({ dataDir: join(config.dataDir, "pgdata"), logger });
      closers.push(() => pglite.close());
      database = { kind: "pglite", seeded: await ensureSeeded(pglite, logger) };
      executor = pglite;
    } else {
      const pgExecutor = new PgExecutor({ connectionString: config.databaseUrl, logger });
      closers.push(() => pgExecutor.close());
      database = { kind: "postgres", seeded: "external" };
      executor = pgExecutor;
    }
    const policySource = { current: () => policy, context: { devIssuer: devIdp?.issuer } };
    const baseDeps: HandlerDeps = {
      verifier,
      logger,
      rateLimiter: new RateLimiter(policySource.current, policySource.context),
      analyzer: await createStatementAnalyzer(executor),
      policy: policySource,
      executor,
      sessions,
      objects,
      keys,
      clock,
      results: { pageSize: 1_000, inlineMaxBytes: 4 * 1024 * 1024 },
      decisions: new DecisionCache(),
      signer,
      evidence,
      policyArchive,
    };
    const deps = overrides.wrapDeps?.(baseDeps) ?? baseDeps;
    const localRoutes: LocalRoute[] = devIdp === undefined ? [] : [devIdpRoutes(devIdp)];
    server.mount({ handlers: createHandlers(deps), localRoutes, objects });
    return { url: server.url, config, devIdp, deps, database, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
