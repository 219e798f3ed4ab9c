// Column lookup in a name scope: by the FROM list (unqualified) and by one item (qualified) alike, one match or several merged.
import { describe, expect, it } from "vitest";
import type { Lineage, SourceColumn, SourceRelation } from "#shared/sql/lineage.ts";
import {
  exactColumn,
  itemColumn,
  makeItem,
  type RangeColumn,
  rangeColumns,
  Scope,
} from "#shared/sql/scope.ts";
import type { Analysis } from "#shared/sql/walk-state.ts";

const patients: SourceRelation = { schema: "public", table: "patients", key: "public.patients" };

function source(column: string): Lineage {
  const lineage: Lineage = { sources: [], wholeRows: [], transforms: 0, copy: true, opaque: false };
  const col: SourceColumn = {
    ...patients,
    column,
    relation: patients,
    key: `public.patients.${column}`,
    lineage,
    unique: false,
  };
  return { ...lineage, sources: [col] };
}

const NO_ANALYSIS = {} as Analysis;

describe("column lookup", () => {
  it("finds one column by the FROM list and by its item, the same lineage, and marks it referenced", () => {
    const ssn = source("ssn");
    const columns = rangeColumns([
      { name: "id", lineage: source("id") },
      { name: "ssn", lineage: ssn },
    ]);
    const scope = new Scope(undefined, undefined);
    const item = makeItem("p", columns);
    scope.entries.push({ items: [item], columns, open: undefined });
    expect(exactColumn(scope, "ssn")).toBe(ssn);
    expect(itemColumn(item, "ssn", NO_ANALYSIS)).toBe(ssn);
    expect(columns.map((c) => c.used)).toEqual([false, true]);
    expect(exactColumn(scope, "dob")).toBeUndefined();
    expect(itemColumn(item, "dob", NO_ANALYSIS)).toBeUndefined();
  });

  it("merges every column of the name, across FROM entries and within an item, and marks each and its parts", () => {
    const a = source("a");
    const b = source("b");
    const part: RangeColumn = { name: "x", lineage: a, used: false };
    const first: RangeColumn = { name: "x", lineage: a, used: false, parts: [part] };
    const second: RangeColumn = { name: "x", lineage: b, used: false };
    const scope = new Scope(undefined, undefined);
    scope.entries.push({ items: [], columns: [first], open: undefined });
    scope.entries.push({ items: [], columns: [second], open: undefined });
    const merged = exactColumn(scope, "x");
    expect(merged?.sources.map((s) => s.column).sort()).toEqual(["a", "b"]);
    expect([first.used, part.used, second.used]).toEqual([true, true, true]);
    const item = makeItem("t", [
      { name: "x", lineage: a, used: false },
      { name: "x", lineage: b, used: false },
    ]);
    expect(
      itemColumn(item, "x", NO_ANALYSIS)
        ?.sources.map((s) => s.column)
        .sort(),
    ).toEqual(["a", "b"]);
  });

  it("gives an item whose columns are not all known its open lineage for a name it does not list", () => {
    const open = source("unknown");
    const item = makeItem("f", [], { open, derived: true });
    expect(itemColumn(item, "anything", NO_ANALYSIS)).toBe(open);
  });
});
