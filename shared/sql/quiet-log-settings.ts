// The PostgreSQL server-log settings that keep values, statement text and parameters out of the server's log.

/**
 * Server-log settings for the gateway's sessions: no error message (`invalid input syntax for type integer:
 * "<value>"`), no statement text, no bind parameters and no slow-statement text reach the server's log. The
 * local host applies them (`SET LOCAL`) to every transaction its role may set them for; the AWS stack sets them in
 * the cluster parameter group of the cluster it creates. All but the last need superuser or `GRANT SET ON
 * PARAMETER` (PostgreSQL 15+) per session; docs/deploy.md "The server log" gives the operator's part.
 */
export const QUIET_LOG_SETTINGS: readonly (readonly [string, string])[] = [
  ["log_min_messages", "fatal"],
  ["log_min_error_statement", "panic"],
  ["log_error_verbosity", "terse"],
  ["log_statement", "none"],
  ["log_min_duration_statement", "-1"],
  ["log_parameter_max_length", "0"],
  ["log_parameter_max_length_on_error", "0"],
];
