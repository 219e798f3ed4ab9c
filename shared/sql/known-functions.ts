// What the classifier knows about built-in functions: which have side effects, which aggregate, which build JSON/XML, which return rows of known shape.

/**
 * Built-ins that change database or server state (PostgreSQL refuses some in a read-only transaction:
 * sequences, large objects; the others have effects outside the transaction or the database).
 */
export const WRITE_FUNCTIONS: ReadonlySet<string> = new Set([
  "nextval",
  "setval",
  "lo_create",
  "lo_creat",
  "lo_import",
  "lo_export",
  "lo_unlink",
  "lo_put",
  "lo_from_bytea",
  "lo_open",
  "lowrite",
  "lo_truncate",
  "lo_truncate64",
  "pg_notify",
  "pg_import_system_collations",
  "pg_logical_emit_message",
  "pg_create_logical_replication_slot",
  "pg_create_physical_replication_slot",
  "pg_drop_replication_slot",
  "pg_copy_logical_replication_slot",
  "pg_copy_physical_replication_slot",
  "pg_replication_slot_advance",
  "pg_replication_origin_create",
  "pg_replication_origin_drop",
  "pg_replication_origin_advance",
  "pg_replication_origin_session_setup",
  "pg_replication_origin_session_reset",
  "pg_replication_origin_xact_setup",
  "pg_replication_origin_xact_reset",
  "pg_switch_wal",
  "pg_create_restore_point",
  "pg_backup_start",
  "pg_backup_stop",
  "pg_promote",
  "pg_wal_replay_pause",
  "pg_wal_replay_resume",
  "pg_stat_reset",
  "pg_stat_reset_shared",
  "pg_stat_reset_single_table_counters",
  "pg_stat_reset_single_function_counters",
  "pg_stat_reset_slru",
  "pg_stat_reset_replication_slot",
  "pg_stat_reset_subscription_stats",
  "pg_stat_reset_backend_stats",
  "pg_stat_clear_snapshot",
  "pg_terminate_backend",
  "pg_cancel_backend",
  "pg_reload_conf",
  "pg_rotate_logfile",
  "pg_log_backend_memory_contexts",
  "pg_file_write",
  "pg_file_rename",
  "pg_file_unlink",
  "pg_file_sync",
  "dblink",
  "dblink_exec",
  "dblink_connect",
  "dblink_connect_u",
  "dblink_send_query",
  "binary_upgrade_set_next_pg_type_oid",
]);

/** Built-ins that take locks outliving the statement (advisory locks; session-level ones outlive the transaction). */
export const LOCK_FUNCTIONS: ReadonlySet<string> = new Set([
  "pg_advisory_lock",
  "pg_advisory_lock_shared",
  "pg_try_advisory_lock",
  "pg_try_advisory_lock_shared",
  "pg_advisory_xact_lock",
  "pg_advisory_xact_lock_shared",
  "pg_try_advisory_xact_lock",
  "pg_try_advisory_xact_lock_shared",
]);

/** Built-ins that change session state (a later statement on the same connection would see it). */
export const SESSION_FUNCTIONS: ReadonlySet<string> = new Set(["set_config", "pg_advisory_unlock_all"]);

/**
 * Built-ins that run SQL given as text (`query_to_xml('SELECT ssn FROM patients', ...)`) or read a table named
 * by a string: the statement they run is invisible to the parse tree, so their value is opaque and the
 * statement is not a plain read (the hidden query may call anything).
 */
export const DYNAMIC_SQL_FUNCTIONS: ReadonlySet<string> = new Set([
  "query_to_xml",
  "query_to_xmlschema",
  "query_to_xml_and_xmlschema",
  "table_to_xml",
  "table_to_xmlschema",
  "table_to_xml_and_xmlschema",
  "cursor_to_xml",
  "cursor_to_xmlschema",
  "schema_to_xml",
  "schema_to_xmlschema",
  "schema_to_xml_and_xmlschema",
  "database_to_xml",
  "database_to_xmlschema",
  "database_to_xml_and_xmlschema",
  "ts_stat",
  "ts_rewrite",
]);

/** Built-ins that return data from outside the parse tree's relations (server files, large objects): opaque values. */
export const OPAQUE_READ_FUNCTIONS: ReadonlySet<string> = new Set([
  "pg_read_file",
  "pg_read_binary_file",
  "lo_get",
  "loread",
]);

/** Built-in aggregate names (a call with FILTER, ORDER BY, DISTINCT or `*` is an aggregate whatever its name). */
export const AGGREGATE_FUNCTIONS: ReadonlySet<string> = new Set([
  "array_agg",
  "avg",
  "bit_and",
  "bit_or",
  "bit_xor",
  "bool_and",
  "bool_or",
  "count",
  "every",
  "json_agg",
  "json_agg_strict",
  "jsonb_agg",
  "jsonb_agg_strict",
  "json_object_agg",
  "json_object_agg_strict",
  "json_object_agg_unique",
  "json_object_agg_unique_strict",
  "jsonb_object_agg",
  "jsonb_object_agg_strict",
  "jsonb_object_agg_unique",
  "jsonb_object_agg_unique_strict",
  "max",
  "min",
  "range_agg",
  "range_intersect_agg",
  "string_agg",
  "sum",
  "xmlagg",
  "any_value",
  "corr",
  "covar_pop",
  "covar_samp",
  "regr_avgx",
  "regr_avgy",
  "regr_count",
  "regr_intercept",
  "regr_r2",
  "regr_slope",
  "regr_sxx",
  "regr_sxy",
  "regr_syy",
  "stddev",
  "stddev_pop",
  "stddev_samp",
  "variance",
  "var_pop",
  "var_samp",
  "mode",
  "percentile_cont",
  "percentile_disc",
  "rank",
  "dense_rank",
  "percent_rank",
  "cume_dist",
]);

/**
 * Built-ins that build JSON or XML documents, or take them apart by their structure: the text of their
 * arguments comes out as it went in (escaped), so the content detectors still see it.
 */
export const JSON_XML_FUNCTIONS: ReadonlySet<string> = new Set([
  "to_json",
  "to_jsonb",
  "row_to_json",
  "array_to_json",
  "json_build_object",
  "jsonb_build_object",
  "json_build_array",
  "jsonb_build_array",
  "json_object",
  "jsonb_object",
  "json_agg",
  "json_agg_strict",
  "jsonb_agg",
  "jsonb_agg_strict",
  "json_object_agg",
  "jsonb_object_agg",
  "json_strip_nulls",
  "jsonb_strip_nulls",
  "jsonb_set",
  "jsonb_insert",
  "jsonb_pretty",
  "json_populate_record",
  "jsonb_populate_record",
  "json_populate_recordset",
  "jsonb_populate_recordset",
  "json_to_record",
  "jsonb_to_record",
  "json_to_recordset",
  "jsonb_to_recordset",
  "json_each",
  "jsonb_each",
  "json_each_text",
  "jsonb_each_text",
  "json_array_elements",
  "jsonb_array_elements",
  "json_array_elements_text",
  "jsonb_array_elements_text",
  "xmlagg",
  "query_to_xml",
  "table_to_xml",
  "cursor_to_xml",
  "xmlconcat",
  "xmlelement",
  "xmlforest",
  "xmlparse",
  "xmlpi",
  "xmlroot",
  "xmlserialize",
]);

/**
 * Built-ins that evaluate a path or query expression (XPath, SQL/JSON path, a key path) over a document. The
 * expression is chosen by the query and can rewrite, cut or select text (`translate(...)`, `substring(...)` in
 * XPath, `like_regex` filters), so their value is a transformation of the document like any function's; they
 * are JSON/XML functions too.
 */
export const PATH_EVALUATOR_FUNCTIONS: ReadonlySet<string> = new Set([
  "xpath",
  "xpath_exists",
  "xmlexists",
  "json_extract_path",
  "json_extract_path_text",
  "jsonb_extract_path",
  "jsonb_extract_path_text",
  "jsonb_path_exists",
  "jsonb_path_exists_tz",
  "jsonb_path_match",
  "jsonb_path_match_tz",
  "jsonb_path_query",
  "jsonb_path_query_tz",
  "jsonb_path_query_array",
  "jsonb_path_query_array_tz",
  "jsonb_path_query_first",
  "jsonb_path_query_first_tz",
]);

/**
 * Result columns of built-in set-returning functions used in FROM: `null` for a single column (named after the
 * alias or the function), else the column names. Functions not listed here have unknown columns.
 */
export const SET_RETURNING_COLUMNS: ReadonlyMap<string, readonly string[] | null> = new Map<
  string,
  readonly string[] | null
>([
  ["generate_series", null],
  ["generate_subscripts", null],
  ["regexp_matches", null],
  ["regexp_split_to_table", null],
  ["string_to_table", null],
  ["json_array_elements", ["value"]],
  ["jsonb_array_elements", ["value"]],
  ["json_array_elements_text", ["value"]],
  ["jsonb_array_elements_text", ["value"]],
  ["json_object_keys", null],
  ["jsonb_object_keys", null],
  ["json_each", ["key", "value"]],
  ["jsonb_each", ["key", "value"]],
  ["json_each_text", ["key", "value"]],
  ["jsonb_each_text", ["key", "value"]],
  ["jsonb_path_query", null],
  ["pg_options_to_table", ["option_name", "option_value"]],
  ["upper", null],
  ["lower", null],
  ["now", null],
  ["random", null],
  ["length", null],
  ["abs", null],
  ["coalesce", null],
  ["md5", null],
  ["current_date", null],
  ["to_char", null],
  ["concat", null],
  ["substr", null],
]);

/** Built-ins whose first argument's composite type (`null::patients`) gives the result columns. */
export const POPULATE_FUNCTIONS: ReadonlySet<string> = new Set([
  "json_populate_record",
  "jsonb_populate_record",
  "json_populate_recordset",
  "jsonb_populate_recordset",
]);

/**
 * Built-in set-returning functions: how many rows they return depends on their arguments, so an argument read
 * from a column decides the row count (`generate_series(1, substr(ssn, 1, 3)::int)` returns as many rows as the
 * SSN's first three digits say).
 */
export const SET_RETURNING_FUNCTIONS: ReadonlySet<string> = new Set([
  "generate_series",
  "generate_subscripts",
  "unnest",
  "regexp_matches",
  "regexp_split_to_table",
  "string_to_table",
  "json_array_elements",
  "jsonb_array_elements",
  "json_array_elements_text",
  "jsonb_array_elements_text",
  "json_object_keys",
  "jsonb_object_keys",
  "json_each",
  "jsonb_each",
  "json_each_text",
  "jsonb_each_text",
  "jsonb_path_query",
  "jsonb_path_query_tz",
  "json_populate_recordset",
  "jsonb_populate_recordset",
  "json_to_recordset",
  "jsonb_to_recordset",
  "ts_stat",
  "ts_debug",
  "ts_parse",
  "ts_token_type",
  "aclexplode",
  "pg_options_to_table",
  "txid_snapshot_xip",
  "pg_snapshot_xip",
  "pg_partition_tree",
  "pg_partition_ancestors",
]);

/**
 * Built-ins PostgreSQL marks stable (or immutable) that still have effects or reach beyond the statement's own
 * relations: they assign a transaction id, read a table or schema named by a string, or show other sessions
 * (their statements, clients, progress, replication peers). The function rule denies them by name.
 */
export const STABLE_DENIED_FUNCTIONS: ReadonlySet<string> = new Set([
  "txid_current",
  "pg_current_xact_id",
  "table_to_xml",
  "table_to_xmlschema",
  "table_to_xml_and_xmlschema",
  "schema_to_xml",
  "schema_to_xmlschema",
  "schema_to_xml_and_xmlschema",
  "database_to_xml",
  "database_to_xmlschema",
  "database_to_xml_and_xmlschema",
  "pg_get_replication_slots",
]);

/**
 * Name prefixes of the stable built-ins that read the cumulative statistics system (`pg_stat_get_*` and the rest
 * of the `pg_stat_` family: per-table scans and tuples fetched, per-database commits, activity, progress,
 * replication, WAL). Other sessions' reads move those counters, so reading them tells a caller what others read
 * (which rows, how often, when) — a channel around every grant and mask. A prefix, so a release's new counter is
 * denied too.
 */
export const STATISTICS_PREFIXES: readonly string[] = ["pg_stat_"];

/**
 * Name prefixes of the catalog's definition readers (`pg_get_viewdef`, `pg_get_ruledef`, `pg_get_indexdef`,
 * `pg_get_constraintdef`, `pg_get_triggerdef`, `pg_get_userbyid`, `pg_get_expr` ...): they answer the source of
 * any object by oid or name, granted or not (a view's text, a rule's literals, role names). A report needs none.
 */
export const CATALOG_SOURCE_PREFIXES: readonly string[] = ["pg_get_"];

/**
 * Stable built-ins that reveal the server rather than the data granted: its files and paths
 * (`pg_relation_filepath`, `pg_relation_filenode`, `pg_filenode_relation`, `pg_tablespace_location`,
 * `pg_tablespace_databases`), its settings (`current_setting` answers `data_directory` and every other path;
 * `pg_show_all_settings`, `pg_settings_get_flags`, `pg_config`, `pg_conf_load_time`), its processes and network
 * (`pg_backend_pid`, `pg_postmaster_start_time`, `inet_server_addr`, `inet_server_port`, `inet_client_addr`,
 * `inet_client_port`), the source text of functions, which may carry literals (`pg_get_functiondef`,
 * `pg_get_function_sqlbody`), the extended statistics' most common values (`pg_mcv_list_items`), the exact server
 * build (`version`), and the current snapshot, whose xmin/xmax move with other sessions' writes
 * (`pg_current_snapshot`, `txid_current_snapshot`).
 */
export const SERVER_INTROSPECTION_FUNCTIONS: ReadonlySet<string> = new Set([
  "version",
  "pg_current_snapshot",
  "txid_current_snapshot",
  "pg_relation_filepath",
  "pg_relation_filenode",
  "pg_filenode_relation",
  "pg_tablespace_location",
  "pg_tablespace_databases",
  "current_setting",
  "pg_show_all_settings",
  "pg_settings_get_flags",
  "pg_config",
  "pg_conf_load_time",
  "pg_backend_pid",
  "pg_postmaster_start_time",
  "inet_server_addr",
  "inet_server_port",
  "inet_client_addr",
  "inet_client_port",
  "pg_get_functiondef",
  "pg_get_function_sqlbody",
  "pg_mcv_list_items",
]);

/** Why a stable or immutable built-in is denied (by name), or undefined when the function rule admits it. */
export function stableRefusal(name: string): string | undefined {
  if (STABLE_DENIED_FUNCTIONS.has(name)) return "has effects or reaches other sessions";
  if (STATISTICS_PREFIXES.some((prefix) => name.startsWith(prefix)))
    return "reads cumulative statistics that other sessions' reads change";
  if (SERVER_INTROSPECTION_FUNCTIONS.has(name))
    return "reveals the server's files, settings, processes or function sources";
  if (CATALOG_SOURCE_PREFIXES.some((prefix) => name.startsWith(prefix)))
    return "reads the definitions of catalog objects, granted or not";
  return undefined;
}

/**
 * The volatile built-ins the function rule admits: they only draw random numbers or read the clock (no
 * transaction id, no write, no session state; `setseed` is not here, so `random` cannot be made predictable).
 */
export const SAFE_VOLATILE_FUNCTIONS: ReadonlySet<string> = new Set([
  "random",
  "random_normal",
  "gen_random_uuid",
  "uuidv4",
  "uuidv7",
  "array_shuffle",
  "array_sample",
  "clock_timestamp",
  "timeofday",
]);
