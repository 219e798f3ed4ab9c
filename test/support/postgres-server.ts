// Starts a throwaway PostgreSQL server (initdb + pg_ctl on 127.0.0.1, trust auth) for tests; skips without binaries.

import { execFile, execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { describe, it } from "vitest";

const execFileAsync = promisify(execFile);
const REQUIRED_BINARIES = ["initdb", "pg_ctl", "postgres"];

/** How to start the server; every field has a default. */
export interface PostgresServerOptions {
  /** Directory holding `initdb`, `pg_ctl` and `postgres`. Default: `findPostgresBinDir()`. */
  readonly binDir?: string;
  /** The bootstrap superuser, trusted without a password from 127.0.0.1. Default `postgres`. */
  readonly user?: string;
  /** Database the returned URL points to; created unless it is `postgres`. Default `postgres`. */
  readonly database?: string;
  /**
   * Server settings appended to postgresql.conf. Defaults trade durability for speed (`fsync`,
   * `synchronous_commit` and `full_page_writes` off): the data is thrown away.
   */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /** Where the temporary directory is made. Default: the test run's directory (`PHIGATE_TEST_TMP`), else `os.tmpdir()`. */
  readonly parentDir?: string;
}

/** A running throwaway server. */
export interface PostgresServer {
  /** `postgresql://<user>@127.0.0.1:<port>/<database>` (no password: trust auth). */
  readonly url: string;
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** The PGDATA directory (inside a temporary directory removed by `stop`). */
  readonly dataDir: string;
  /** Stops the server (fast shutdown) and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

function hasBinaries(dir: string): boolean {
  return REQUIRED_BINARIES.every((name) => existsSync(join(dir, name)));
}

function pgConfigBinDir(): string | undefined {
  try {
    return execFileSync("pg_config", ["--bindir"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

function debianBinDirs(): string[] {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((version) => /^\d+$/.test(version))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, "bin"));
}

let cachedBinDir: { readonly dir: string | undefined } | undefined;

/**
 * The directory of the PostgreSQL server binaries: `$PG_BIN_DIR`, else `pg_config --bindir`, else the newest
 * `/usr/lib/postgresql/<version>/bin` (Debian/Ubuntu), else a `$PATH` entry with `initdb`; undefined when none has
 * `initdb`, `pg_ctl` and `postgres`. Looked up once per process.
 */
export function findPostgresBinDir(): string | undefined {
  if (cachedBinDir === undefined) {
    const fromEnv = process.env.PG_BIN_DIR;
    const candidates = fromEnv
      ? [fromEnv]
      : [pgConfigBinDir(), ...debianBinDirs(), ...(process.env.PATH ?? "").split(delimiter)];
    cachedBinDir = {
      dir: candidates.find((dir): dir is string => dir !== undefined && dir !== "" && hasBinaries(dir)),
    };
  }
  return cachedBinDir.dir;
}

/** Why a server cannot be started here (no binaries), or undefined when it can. */
export function postgresUnavailableReason(): string | undefined {
  if (findPostgresBinDir() !== undefined) return undefined;
  return process.env.PG_BIN_DIR
    ? `PG_BIN_DIR=${process.env.PG_BIN_DIR} lacks ${REQUIRED_BINARIES.join("/")}`
    : "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install postgresql or set PG_BIN_DIR";
}

/**
 * `describe` when a server can be started, else `describe.skip` with the reason in the suite's name (and a
 * warning on stderr), so a machine without PostgreSQL skips visibly instead of failing. With
 * `PHIGATE_REQUIRE_POSTGRES=1` (set it in CI) a missing server fails the suite instead of skipping it.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  const reason = postgresUnavailableReason();
  if (reason === undefined) {
    describe(name, body);
  } else if (process.env.PHIGATE_REQUIRE_POSTGRES === "1") {
    describe(name, () => {
      it("needs a PostgreSQL server (PHIGATE_REQUIRE_POSTGRES=1)", () => {
        throw new Error(reason);
      });
    });
  } else {
    console.warn(`[postgres-server] skipping "${name}": ${reason}`);
    describe.skip(`${name} (skipped: ${reason})`, body);
  }
}

/** Runs binaries as the `postgres` OS user when we are root (the server refuses to run as root). */
interface Runner {
  readonly run: (file: string, args: readonly string[], cwd: string) => Promise<void>;
  readonly runSync: (file: string, args: readonly string[], cwd: string) => void;
  readonly owner: { uid: number; gid: number } | undefined;
}

function osUserIds(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(
      execFileSync("id", ["-u", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
    );
    const gid = Number(
      execFileSync("id", ["-g", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
    );
    return { uid, gid };
  } catch {
    return undefined;
  }
}

function runner(): Runner {
  const env = { ...process.env, LC_ALL: "C", LANG: "C" };
  const isRoot = process.getuid?.() === 0;
  const owner = isRoot ? osUserIds("postgres") : undefined;
  if (isRoot && owner === undefined) {
    throw new Error(
      "postgres-server: running as root, but there is no 'postgres' OS user to run the server as",
    );
  }
  const wrap = (file: string, args: readonly string[]): [string, string[]] =>
    isRoot ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, [...args]];
  return {
    owner,
    run: async (file, args, cwd) => {
      const [command, argv] = wrap(file, args);
      await execFileAsync(command, argv, { cwd, env, timeout: 120_000 });
    },
    runSync: (file, args, cwd) => {
      const [command, argv] = wrap(file, args);
      spawnSync(command, argv, { cwd, env, stdio: "ignore", timeout: 30_000 });
    },
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it; it is closed again before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function confValue(value: string | number | boolean): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return value ? "on" : "off";
  return `'${value.replaceAll("'", "''")}'`;
}

function describeFailure(step: string, error: unknown, logFile: string): Error {
  const log = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n") : "";
  const stderr = (error as { stderr?: unknown } | null)?.stderr;
  return new Error(`postgres-server: ${step} failed\n${String(stderr ?? error)}\n${log}`, { cause: error });
}

/**
 * Starts a throwaway server: `initdb` into a new temporary directory (trust auth, UTF8, C locale), then
 * `pg_ctl start` listening on 127.0.0.1 only (no Unix socket) on a free port. When run as root it runs the
 * binaries as the `postgres` OS user, which owns the directory. Throws when the binaries are absent (check
 * `postgresUnavailableReason()` or use `describeWithPostgres` first). Call `stop()` in `afterAll`; a server
 * still running when the process exits is stopped then.
 */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const binDir = options.binDir ?? findPostgresBinDir();
  if (binDir === undefined) throw new Error(`postgres-server: ${postgresUnavailableReason()}`);
  const user = options.user ?? "postgres";
  const database = options.database ?? "postgres";
  const exec = runner();
  const root = mkdtempSync(
    join(options.parentDir ?? process.env.PHIGATE_TEST_TMP ?? tmpdir(), "phigate-pg-"),
  );
  if (exec.owner) chownSync(root, exec.owner.uid, exec.owner.gid);
  const dataDir = join(root, "data");
  const logFile = join(root, "server.log");
  const pgCtl = join(binDir, "pg_ctl");
  let running = false;
  const stopSync = (): void => {
    if (running) exec.runSync(pgCtl, ["-D", dataDir, "-m", "immediate", "-w", "stop"], root);
    running = false;
    rmSync(root, { recursive: true, force: true });
  };
  process.once("exit", stopSync);
  try {
    await exec
      .run(
        join(binDir, "initdb"),
        ["-D", dataDir, "-U", user, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
        root,
      )
      .catch((error: unknown) => {
        throw describeFailure("initdb", error, logFile);
      });
    const settings = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "",
      fsync: false,
      synchronous_commit: false,
      full_page_writes: false,
      ...options.settings,
    };
    const lines = Object.entries(settings).map(([key, value]) => `${key} = ${confValue(value)}`);
    appendFileSync(
      join(dataDir, "postgresql.conf"),
      `\n# postgres-server test helper\n${lines.join("\n")}\n`,
    );
    let port = 0;
    for (let attempt = 1; !running; attempt++) {
      port = await freePort();
      try {
        await exec.run(
          pgCtl,
          ["-D", dataDir, "-l", logFile, "-o", `-p ${port}`, "-w", "-t", "60", "start"],
          root,
        );
        running = true;
      } catch (error) {
        if (attempt >= 3) throw describeFailure("pg_ctl start", error, logFile);
      }
    }
    if (database !== "postgres") {
      const client = new pg.Client({ host: "127.0.0.1", port, user, database: "postgres" });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
    }
    const url = `postgresql://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    let stopped = false;
    return {
      url,
      host: "127.0.0.1",
      port,
      user,
      database,
      dataDir,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        process.removeListener("exit", stopSync);
        try {
          if (running) await exec.run(pgCtl, ["-D", dataDir, "-m", "fast", "-w", "stop"], root);
          running = false;
        } finally {
          stopSync();
        }
      },
    };
  } catch (error) {
    process.removeListener("exit", stopSync);
    stopSync();
    throw error;
  }
}
