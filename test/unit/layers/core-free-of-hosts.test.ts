// The core names no host: no shared/ file imports infra/ (types included), a Lambda, AWS or CDK package, or pulls host types in by a reference directive.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type ImportEdge, importGraph, packageImports } from "./import-graph.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const HOST_PACKAGES =
  /^(aws-lambda|@types\/aws-lambda|@aws-sdk\/|@aws-lambda-powertools\/|aws-cdk-lib|constructs$)/;
const REFERENCE = /^\s*\/\/\/\s*<reference\s+(types|path)\s*=\s*["']([^"']+)["']/gm;

/** The core's imports of a host: an edge from shared/ into infra/ or functions/, type-only ones included. */
function coreToHost(edges: readonly ImportEdge[]): string[] {
  return edges
    .filter((e) => e.from.startsWith("shared/") && /^(infra|functions)\//.test(e.to))
    .map((e) => `${e.from} → ${e.to}${e.typeOnly ? " (types)" : ""}`);
}

/** The core's imports of a host package, and its reference directives (the import graph drops comments). */
function coreHostTypes(root: string): string[] {
  const packages = packageImports(root, ["shared"])
    .filter((i) => HOST_PACKAGES.test(i.spec))
    .map((i) => `${i.from} imports ${i.spec}`);
  const references: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts)$/.test(entry.name))
        for (const m of readFileSync(join(root, path), "utf8").matchAll(REFERENCE))
          references.push(`${path} references ${m[2]}`);
    }
  };
  walk("shared");
  return [...packages, ...references];
}

describe("the core is free of either host", () => {
  it("has no shared/ file importing infra/ or functions/, not even for types", () => {
    expect(coreToHost(importGraph(ROOT, ["shared"]))).toEqual([]);
  });

  it("has no shared/ file importing a Lambda, AWS or CDK package, or referencing host types", () => {
    expect(coreHostTypes(ROOT)).toEqual([]);
  });

  it("catches each form: a type-only import, an inline import type, a package type import, a reference directive", () => {
    const root = mkdtempSync(join(tmpdir(), "phigate-layers-"));
    try {
      mkdirSync(join(root, "shared/x"), { recursive: true });
      writeFileSync(
        join(root, "shared/x/a.ts"),
        [
          '/// <reference types="aws-lambda" />',
          'import type { Deps } from "#infra/aws/compose.ts";',
          'import type { Handler } from "aws-lambda";',
          'type Event = import("@types/aws-lambda").APIGatewayProxyEventV2;',
          "export type T = [Deps, Handler, Event];",
        ].join("\n"),
      );
      expect(coreToHost(importGraph(root, ["shared"]))).toEqual([
        "shared/x/a.ts → infra/aws/compose.ts (types)",
      ]);
      expect(coreHostTypes(root).sort()).toEqual([
        "shared/x/a.ts imports @types/aws-lambda",
        "shared/x/a.ts imports aws-lambda",
        "shared/x/a.ts references aws-lambda",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
