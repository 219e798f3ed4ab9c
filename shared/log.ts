// Structured logging with a deliberately narrow shape: flat scalar fields only, so rows, records and tokens cannot slip in.

/** A log line's extra fields: flat scalars only (never a row, a record, a token, SQL text or a parameter). */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** The logger every module receives. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Log levels in increasing severity; `silent` turns logging off. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** A logger writing one JSON object per line to the given sink (stdout by default). */
export function createJsonLogger(options: {
  service: string;
  level?: LogLevel;
  write?: (line: string) => void;
}): Logger {
  const threshold = SEVERITY[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (level: Exclude<LogLevel, "silent">, message: string, fields?: LogFields): void => {
    if (SEVERITY[level] < threshold) return;
    write(
      JSON.stringify({ level, time: new Date().toISOString(), service: options.service, message, ...fields }),
    );
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** A logger that drops everything (tests that assert on behaviour, not logs). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A caller-safe description of an unknown error for logs: its class and code, never its message. */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { errorName: error.name, errorCode: typeof code === "string" ? code : undefined };
  }
  return { errorName: typeof error };
}
