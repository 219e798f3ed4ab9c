// Our Logger interface over Powertools Logger: structured JSON in CloudWatch with the Lambda context keys.

import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import type { LogFields, Logger, LogLevel } from "#shared/log.ts";

function extra(fields: LogFields | undefined): Record<string, string | number | boolean | null>[] {
  if (fields === undefined) return [];
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return [out];
}

/** A phigate `Logger` writing through Powertools (same narrow shape: flat scalar fields only). */
export function createPowertoolsLogger(options: {
  readonly serviceName: string;
  readonly level: LogLevel;
  readonly logger?: PowertoolsLogger;
}): { logger: Logger; powertools: PowertoolsLogger } {
  const powertools =
    options.logger ?? new PowertoolsLogger({ serviceName: options.serviceName, logLevel: options.level });
  return {
    powertools,
    logger: {
      debug: (message, fields) => powertools.debug(message, ...extra(fields)),
      info: (message, fields) => powertools.info(message, ...extra(fields)),
      warn: (message, fields) => powertools.warn(message, ...extra(fields)),
      error: (message, fields) => powertools.error(message, ...extra(fields)),
    },
  };
}
