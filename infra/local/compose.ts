// The local host's composition root: builds every adapter once under DATA_DIR and serves the shared handlers.

import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ConsoleNotifier } from "#infra/local/adapters/console-notifier.ts";
import { FileApprovalStore } from "#infra/local/adapters/file-approval-store.ts";
import { FileCatalogArchive } from "#infra/local/adapters/file-catalog-archive.ts";
import { FileCheckpointStore } from "#infra/local/adapters/file-checkpoint-store.ts";
import { FileEvidenceStore } from "#infra/local/adapters/file-evidence-store.ts";
import { FileKeyProvider, KEY_PURPOSES } from "#infra/local/adapters/file-key-provider.ts";
import { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import { FilePolicyArchive } from "#infra/local/adapters/file-policy-archive.ts";
import { FileSessionStore } from "#infra/local/adapters/file-session-store.ts";
import { InProcessCallerTurns } from "#infra/local/adapters/in-process-caller-turns.ts";
import { InProcessWorkflow } from "#infra/local/adapters/in-process-workflow.ts";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { MemoryReadLedger } from "#infra/local/adapters/memory-read-ledger.ts";
import { OutboxNotifier } from "#infra/local/adapters/outbox-notifier.ts";
import { PgExecutor } from "#infra/local/adapters/pg-executor.ts";
import { PgliteExecutor, type PgliteExecutorOptions } from "#infra/local/adapters/pglite-executor.ts";
import { SealedBundleStatus } from "#infra/local/adapters/sealed-bundle-status.ts";
import { WebhookNotifier } from "#infra/local/adapters/webhook-notifier.ts";
import type { LocalConfig } from "#infra/local/config.ts";
import { lockDataDir } from "#infra/local/data-dir-lock.ts";
import { DevIdp } from "#infra/local/dev-idp/dev-idp.ts";
import { DEV_IDP_PATH, devIdpRoutes } from "#infra/local/dev-idp/routes.ts";
import { checkKeyFolder, logFixes, privatizeTree } from "#infra/local/private-files.ts";
import { ensureSeeded } from "#infra/local/seed-embedded.ts";
import type { MountedLocalRoute, RunningServer } from "#infra/local/server.ts";
import { startServer } from "#infra/local/server.ts";
import { APPROVAL_STATES, HEARTBEAT_SECONDS } from "#shared/approval/approval-workflow.ts";
import { FanOutNotifier, type NotifierChannel } from "#shared/approval/fan-out-notifier.ts";
import { sweepApprovals } from "#shared/approval/keeper.ts";
import type { TaskHandler } from "#shared/approval/tasks/task-input.ts";
import type { TaskName } from "#shared/approval/workflow-description.ts";
import { ConfigurationError, UnavailableError } from "#shared/errors.ts";
import type { ApiHandler } from "#shared/http/api-handler.ts";
import { RateLimiter } from "#shared/http/rate-limiter.ts";
import type { HandlerDeps } from "#shared/http/route.ts";
import { loadRouteTable, ROUTES_DIRECTORY } from "#shared/http/route-table.ts";
import type { InProcessIssuer } from "#shared/identity/token-verifier.ts";
import { createTokenVerifier } from "#shared/identity/token-verifier.ts";
import { ALL_DAYS, createLogSequencer } from "#shared/log/open-log.ts";
import { errorFields, type Logger } from "#shared/log.ts";
import { loadPolicyFile } from "#shared/policy/load.ts";
import { type Clock, type SqlExecutor, systemClock } from "#shared/ports.ts";
import { DecisionCache } from "#shared/query/decide-request.ts";
import { createApprovalTasks } from "#shared/query/workflow-tasks.ts";
import { failSession } from "#shared/sessions/fail-session.ts";
import { localPolicyChanger } from "#shared/sessions/policy-change.ts";
import { LEDGER_RETENTION_SECONDS } from "#shared/sessions/read-ledger.ts";
import { createStatementAnalyzer } from "#shared/sql/statement-analyzer.ts";
import { type ApproverSignIn, CALLBACK_PATH } from "#shared/web/oidc-client.ts";

/**
 * Sessions left `running` by a previous process (it stopped mid-request, so no caller got their data) are
 * recorded as failed before anything is served: every record ends in a state that says what happened.
 */
async function failInterrupted(deps: HandlerDeps, sessions: FileSessionStore, logger: Logger): Promise<void> {
  const ids = sessions.interrupted();
  for (const id of ids) {
    const record = await deps.sessions.get(id);
    if (record?.status !== "running") continue;
    await failSession(
      deps,
      record,
      new UnavailableError(
        "interrupted",
        "the gateway stopped while this statement was running; nothing was returned",
      ),
    );
  }
  if (ids.length > 0)
    logger.warn("recorded sessions interrupted by the previous stop as failed", { sessions: ids.length });
}

/** A running local gateway. */
export interface LocalHost {
  readonly url: string;
  readonly config: LocalConfig;
  readonly devIdp: DevIdp | undefined;
  readonly deps: HandlerDeps;
  /** The in-process approval workflow runner (state under DATA_DIR/approvals/executions). */
  readonly workflow: InProcessWorkflow;
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
  /** Where console notifications go (stdout by default). */
  readonly consoleNotifications?: (line: string) => void;
  /** How often the workflow runner checks its timers, ms. */
  readonly workflowTickMs?: number;
  /** Folders of route declarations to serve (default: the gateway's own, shared/http/handlers). */
  readonly routeDirectories?: readonly URL[];
  /** The embedded database's admission settings (queue timeout, fair slice, per-caller queue cap). */
  readonly pglite?: Pick<PgliteExecutorOptions, "queueTimeoutMs" | "fairSliceMs" | "maxQueuedPerCaller">;
}

/** Approver sign-in: the dev IdP in development mode, PHIGATE_APPROVER_OIDC otherwise (or none: pages answer 503). */
function approverSignIn(
  config: LocalConfig,
  devIdp: DevIdp | undefined,
  baseUrl: string,
): ApproverSignIn | undefined {
  const redirectUri = `${baseUrl}${CALLBACK_PATH}`;
  if (devIdp !== undefined) {
    return {
      issuer: devIdp.issuer,
      authorizationEndpoint: `${devIdp.issuer}/authorize`,
      tokenEndpoint: `${devIdp.issuer}/token`,
      clientId: config.audience,
      redirectUri,
    };
  }
  if (config.approverSignIn === undefined) return undefined;
  const trusted = config.issuers.find((i) => i.issuer === config.approverSignIn?.issuer);
  if (trusted === undefined || !trusted.audience.includes(config.approverSignIn.clientId)) {
    throw new ConfigurationError(
      "PHIGATE_APPROVER_OIDC: its issuer must be in PHIGATE_ISSUERS with its clientId among that issuer's audiences",
    );
  }
  return { ...config.approverSignIn, redirectUri };
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
  // mkdir's mode applies only to a folder it creates: an existing DATA_DIR open to group or others is closed here.
  await chmod(config.dataDir, 0o700);
  const unlock = await lockDataDir(config.dataDir);
  const closers: (() => Promise<void>)[] = [unlock];
  let server: RunningServer | undefined;
  let closing: Promise<void> | undefined;
  // The server drains first, while every store is still open, so a request in flight is answered and recorded;
  // then the rest closes in the reverse of its opening.
  const closeAll = (): Promise<void> => {
    closing ??= (async () => {
      await server?.close().catch(() => undefined);
      for (const close of closers.reverse()) await close().catch(() => undefined);
    })();
    return closing;
  };
  try {
    // Before any key is read: a symlinked, foreign or shared key file refuses the start; a loose mode is tightened.
    logFixes(logger, "key", await checkKeyFolder(join(config.dataDir, "keys")));
    const clock = overrides.clock ?? systemClock;
    server = await startServer({ host: config.host, port: config.port, logger });
    const baseUrl = config.publicUrl ?? server.url;
    const keys = new FileKeyProvider(join(config.dataDir, "keys"));
    for (const purpose of KEY_PURPOSES) await keys.key(purpose);
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
    const signer = await LocalSigner.open(join(config.dataDir, "keys"));
    const log = await createLogSequencer(
      signer,
      new FileCheckpointStore(join(config.dataDir, "log", "checkpoints")),
      logger,
      config.logBatchMs,
    );
    const sessions = await FileSessionStore.open({
      directory: join(config.dataDir, "sessions"),
      clock,
      logger,
      onDurable: (entries) => log.accept(entries),
    });
    closers.push(() => sessions.close());
    await log.start(sessions.entries(ALL_DAYS.from, ALL_DAYS.to));
    closers.push(() => log.close());
    const reads = new MemoryReadLedger(() => clock.now());
    const oldestRead = new Date(clock.now().getTime() - LEDGER_RETENTION_SECONDS * 1000);
    await reads.rebuild(sessions.entries(oldestRead.toISOString().slice(0, 10), ALL_DAYS.to));
    const objects = new FileObjectStore({
      directory: join(config.dataDir, "objects"),
      linkKey: await keys.key("result-link"),
      baseUrl: () => baseUrl,
      clock,
      logger,
    });
    closers.push(() => objects.close());
    const policyArchive = new FilePolicyArchive(join(config.dataDir, "policies"));
    await policyArchive.put(policy.text);
    const policyRef = { name: policy.document.name, digest: policy.digest };
    if ((await sessions.recordPolicy(policyRef, localPolicyChanger(config.policyPath))) !== undefined)
      logger.info("policy change recorded in the chain", { policy: policyRef.name, digest: policy.digest });
    const catalogArchive = new FileCatalogArchive(join(config.dataDir, "catalogs"));
    const evidence = new FileEvidenceStore(join(config.dataDir, "evidence"));
    let executor: SqlExecutor;
    let database: LocalHost["database"];
    if (config.databaseUrl === undefined) {
      const pgdata = join(config.dataDir, "pgdata");
      logFixes(logger, "database", await privatizeTree(pgdata));
      closers.push(async () => {
        await privatizeTree(pgdata).catch(() => undefined);
      });
      const pglite = await PgliteExecutor.start({ ...overrides.pglite, dataDir: pgdata, logger });
      closers.push(() => pglite.close());
      // PGlite creates its files 0666 (its folder is 0700): close them to the owner too.
      logFixes(logger, "database", await privatizeTree(pgdata));
      database = { kind: "pglite", seeded: await ensureSeeded(pglite, logger) };
      executor = pglite;
    } else {
      const pgExecutor = new PgExecutor({ connectionString: config.databaseUrl, logger });
      closers.push(() => pgExecutor.close());
      database = { kind: "postgres", seeded: "external" };
      executor = pgExecutor;
    }
    const policySource = { current: () => policy, context: { devIssuer: devIdp?.issuer } };
    const approvals = new FileApprovalStore(join(config.dataDir, "approvals", "requests"));
    let tasks: Readonly<Record<TaskName, TaskHandler>> | undefined;
    const workflow = await InProcessWorkflow.open({
      directory: join(config.dataDir, "approvals", "executions"),
      description: APPROVAL_STATES,
      tasks: () => {
        if (tasks === undefined) throw new ConfigurationError("the approval tasks are not ready yet");
        return tasks;
      },
      clock,
      logger,
      ...(overrides.workflowTickMs === undefined ? {} : { tickMs: overrides.workflowTickMs }),
    });
    closers.push(() => workflow.close());
    const baseDeps: HandlerDeps = {
      verifier,
      logger,
      rateLimiter: new RateLimiter(policySource.current, policySource.context),
      analyzer: await createStatementAnalyzer(executor, { archive: catalogArchive }),
      policy: policySource,
      executor,
      sessions,
      reads,
      objects,
      keys,
      clock,
      results: { pageSize: 1_000, inlineMaxBytes: 4 * 1024 * 1024 },
      decisions: new DecisionCache(),
      turns: new InProcessCallerTurns(),
      signer,
      evidence,
      evidenceJobs: { status: new SealedBundleStatus(join(config.dataDir, "evidence")) },
      log,
      policyArchive,
      catalogArchive,
      approvals,
      workflow,
      publicUrl: () => baseUrl,
      signIn: approverSignIn(config, devIdp, baseUrl),
    };
    const deps = overrides.wrapDeps?.(baseDeps) ?? baseDeps;
    const channels: NotifierChannel[] = [
      { name: "console", notifier: new ConsoleNotifier(overrides.consoleNotifications), required: false },
      {
        name: "outbox",
        notifier: new OutboxNotifier({
          directory: join(config.dataDir, "outbox"),
          addresses: config.approvalMail ?? {
            from: "phigate <phigate@localhost>",
            to: "PHI approvers <phi-approvers@localhost>",
          },
          clock,
        }),
        required: true,
      },
    ];
    if (config.approvalWebhookUrl !== undefined) {
      channels.push({
        name: "webhook",
        notifier: new WebhookNotifier({ url: config.approvalWebhookUrl, logger }),
        required: false,
      });
    }
    tasks = createApprovalTasks({ ...deps, notifier: new FanOutNotifier(channels, logger) });
    const localRoutes: MountedLocalRoute[] =
      devIdp === undefined
        ? []
        : [{ prefix: DEV_IDP_PATH, route: devIdpRoutes(devIdp, [], [server.url, baseUrl]) }];
    await failInterrupted(deps, sessions, logger);
    const routes = await loadRouteTable(overrides.routeDirectories ?? [ROUTES_DIRECTORY]);
    const handlers = new Map<string, ApiHandler>(
      routes.routes.map((route) => [route.id, route.create(deps)]),
    );
    server.mount({ routes, handlers, localRoutes, objects });
    workflow.resume();
    // One sweep at a time; closing waits for the one in flight, so nothing writes to DATA_DIR after `close`.
    let sweeping: Promise<void> | undefined;
    const stopSweeping = new AbortController();
    const sweep = (): void => {
      if (sweeping !== undefined) return;
      sweeping = sweepApprovals(deps, stopSweeping.signal)
        .then(
          () => undefined,
          (error: unknown) => logger.warn("approval sweep failed", errorFields(error)),
        )
        .finally(() => {
          sweeping = undefined;
        });
    };
    const keeper = setInterval(sweep, (HEARTBEAT_SECONDS * 1000) / 3);
    keeper.unref();
    closers.push(async () => {
      clearInterval(keeper);
      stopSweeping.abort();
      await sweeping;
    });
    sweep();
    return { url: server.url, config, devIdp, deps, workflow, database, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
