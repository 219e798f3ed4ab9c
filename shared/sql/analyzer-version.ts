// The version of the statement analysis (parser, classifier and the rules decided on its output), recorded in sessions and bundles.

/**
 * Bumped whenever analysis or the rules applied to it change what a statement is decided or masked as, so a
 * session record and an evidence bundle say which analyzer produced them and which one re-checked them.
 * 2: exposures and the opacity rules (issue 13).
 * 3: the terms of a WITH RECURSIVE list walked in dependency order, every round (a term reading another CTE of
 *    the list was walked once, before that CTE's columns were known); an aliased join's column list renames what
 *    unqualified names see; names only an item of unknown shape might have, NATURAL JOIN beside one, `(x).*` of
 *    unknown width and stars in VALUES rows are refused.
 * 4: how many times each relation is scanned (`Classification.scans`): a result row's PHI rows are weighed by the
 *    occurrences of a protected table behind it (issue 14, F1).
 * 5: the relations read by subqueries that only decide conditions (`Classification.conditionReads`), and the
 *    PHI rows of a result row counted over every PHI table the statement reads, masked columns or not
 *    (issue 14, the fourth and fifth outside attacks).
 * 6: the constructs that make rows besides relation scans (`Classification.rowMakers`): a count over rows that may
 *    repeat is a weighted sum, and every result cell that is not a column as it is counts as a fact (issue 14,
 *    the tenth outside attack); aggregates over computed values in any clause (`computedAggregates`) and ORDER BY
 *    keys that are not columns (`orderingKeys`) (the eleventh); aggregate calls beyond one per result cell
 *    (`packedAggregates`) (the twelfth); rows made without a relation (`generatedRows`) and computed operands
 *    inside condition subqueries (`computedConditions`) (the thirteenth).
 * 7: the relations whose rows may choose which of many other rows come back (`Classification.choosers`), each
 *    returned row then weighing the bits such a choice can carry (issue 14, the fourteenth outside attack); the
 *    catalog records which columns a unique index covers (what ties a condition to the row it decides).
 * 8: set-returning built-ins by the catalog (`pg_proc.proretset` of the database in use) besides the hand-kept
 *    list: a call to any of them makes rows without a relation (`pg_timezone_names()` was one the list missed);
 *    aggregate calls that pick their own rows (`Classification.subsetAggregates`: FILTER, a count of a computed
 *    argument), each weighing the bits a count can say; row estimates decided by their order of magnitude (issue
 *    14, the twentieth outside attack).
 */
export const ANALYZER_VERSION = 8;
