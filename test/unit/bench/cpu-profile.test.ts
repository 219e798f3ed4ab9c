// The profile summary: self time attributed to the areas, idle excluded from busy time.

import { describe, expect, it } from "vitest";
import { areaOf, summarizeProfile } from "#bench/support/cpu-profile.ts";

describe("cpu profile summary", () => {
  it("groups self time by area and divides busy time per unit", () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const summary = summarizeProfile(
      "reads",
      {
        nodes: [
          { id: 1, callFrame: frame("(idle)", "") },
          { id: 2, callFrame: frame("maskCell", "file:///repo/shared/masking/masker.ts") },
          { id: 3, callFrame: frame("parseDataRow", "file:///repo/node_modules/pg-protocol/dist/parser.js") },
          { id: 4, callFrame: frame("(garbage collector)", "") },
        ],
        startTime: 0,
        endTime: 10_000,
        samples: [1, 2, 2, 3, 4],
        timeDeltas: [5_000, 1_000, 1_000, 2_000, 1_000],
      },
      5,
      "request",
    );
    expect(summary.busyMs).toBe(5);
    expect(summary.busyMsPerUnit).toBe(1);
    expect(summary.areas.map((a) => [a.name, a.selfMs])).toEqual([
      ["masking", 2],
      ["pg protocol", 2],
      ["GC", 1],
    ]);
    expect(areaOf("file:///repo/shared/masking/tokenize.ts", "token")).toBe("tokenization");
    expect(areaOf("file:///repo/node_modules/zod/v4/core/parse.js", "parse")).toBe("zod");
  });
});
