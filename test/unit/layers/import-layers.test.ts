// The layering of docs/design.md holds: no import points up a layer, the hosts stay apart, and the only loop is the SQL walker's recursion.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importGraph, loops, packageImports } from "./import-graph.ts";
import { layerOf, moduleOf, PORTS, violation } from "./layers.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SOURCES = ["shared", "infra", "functions", "cli", "tools", "bench", "packages"];

describe("import layers", () => {
  const edges = importGraph(ROOT, SOURCES);

  it("reads the graph (a parse that found nothing would pass everything)", () => {
    expect(edges.length).toBeGreaterThan(1000);
    expect(edges).toContainEqual({
      from: "shared/query/submit-query.ts",
      to: "shared/approval/request-approval.ts",
      typeOnly: false,
    });
  });

  it("puts every file in a layer", () => {
    const unplaced = [...new Set(edges.flatMap((e) => [e.from, e.to]))].filter(
      (f) => f !== PORTS && layerOf(f) === undefined,
    );
    expect(unplaced).toEqual([]);
  });

  it("has no import pointing up a layer or between the hosts", () => {
    const found = edges.flatMap((e) => {
      const why = violation(e);
      return why === null ? [] : [`${e.from} → ${e.to}: ${why}`];
    });
    expect(found).toEqual([]);
  });

  it("flags an upward import, a value taken from the ports file's side, and a host importing the other", () => {
    expect(
      violation({ from: "shared/sql/scope.ts", to: "shared/query/submit-query.ts", typeOnly: true }),
    ).toMatch(/^up /);
    expect(violation({ from: PORTS, to: "shared/sessions/record.ts", typeOnly: false })).not.toBeNull();
    expect(
      violation({ from: "infra/local/compose.ts", to: "infra/aws/edge.ts", typeOnly: false }),
    ).not.toBeNull();
    expect(
      violation({ from: "infra/local/compose.ts", to: "shared/query/submit-query.ts", typeOnly: false }),
    ).toBeNull();
  });

  it("has one loop between files, the SQL walker's mutual recursion", () => {
    const found = loops(edges);
    expect(found).toHaveLength(1);
    expect(found[0]?.every((f) => f.startsWith("shared/sql/"))).toBe(true);
    expect(
      loops([
        { from: "a", to: "b" },
        { from: "b", to: "a" },
      ]),
    ).toEqual([["a", "b"]]);
  });

  it("has no loop between modules (folders), the ports file aside", () => {
    const between = edges
      .filter((e) => e.from !== PORTS && e.to !== PORTS)
      .map((e) => ({ from: moduleOf(e.from), to: moduleOf(e.to) }));
    expect(loops(between)).toEqual([]);
  });

  it("keeps the core free of either host: no AWS service, Lambda or CDK package, no PostgreSQL driver", () => {
    const HOST_PACKAGES =
      /^(aws-lambda|@aws-sdk\/|@aws-lambda-powertools\/|aws-cdk-lib|constructs$|pg$|pg\/|@electric-sql\/)/;
    const found = packageImports(ROOT, ["shared"]).filter((i) => HOST_PACKAGES.test(i.spec));
    expect(found).toEqual([]);
    expect(packageImports(ROOT, ["infra/aws"]).some((i) => i.spec.startsWith("@aws-sdk/"))).toBe(true);
  });
});
