// Range proofs: a prefix's frontier plus a contiguous range re-derive the root; any omission, addition or swap does not.

import { describe, expect, it } from "vitest";
import { leafHash } from "#shared/log/merkle.ts";
import { MerkleTree } from "#shared/log/merkle-tree.ts";
import { rootFromFrontier, rootWithRange } from "#shared/log/range-proof.ts";

function frontierOf(tree: MerkleTree, size: number): Uint8Array[] {
  const hashes: Uint8Array[] = [];
  let lo = 0;
  for (let width = 2 ** 20; width >= 1; width /= 2) {
    if (lo + width <= size) {
      hashes.push(tree.subtree(lo, lo + width));
      lo += width;
    }
  }
  return hashes;
}

describe("range proofs", () => {
  const tree = new MerkleTree();
  const leaves = Array.from({ length: 300 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
  for (const leaf of leaves) tree.append(leaf);
  const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString("hex"));

  it("re-derive the root of every prefix and every range end", () => {
    for (let a = 0; a <= 300; a += 7) {
      const frontier = frontierOf(tree, a);
      if (a > 0) expect(hex(rootFromFrontier(a, frontier))).toBe(hex(tree.root(a)));
      for (let b = Math.max(a, 1); b <= 300; b += 13) {
        expect(hex(rootWithRange(a, frontier, leaves.slice(a, b))), `${a}..${b}`).toBe(hex(tree.root(b)));
      }
    }
  });

  it("give another root when a leaf is left out, added, swapped or the frontier is cut", () => {
    for (const [a, b] of [
      [0, 9],
      [5, 17],
      [64, 130],
      [100, 101],
    ] as const) {
      const frontier = frontierOf(tree, a);
      const range = leaves.slice(a, b);
      const root = hex(tree.root(b));
      const omitted = [
        ...range.slice(0, Math.floor(range.length / 2)),
        ...range.slice(Math.floor(range.length / 2) + 1),
      ];
      expect(hex(rootWithRange(a, frontier, omitted))).not.toBe(root);
      expect(hex(rootWithRange(a, frontier, [...range, leaves[0] as Uint8Array]))).not.toBe(root);
      if (range.length > 1)
        expect(
          hex(rootWithRange(a, frontier, [range[1], range[0], ...range.slice(2)] as Uint8Array[])),
        ).not.toBe(root);
      if (frontier.length > 0) expect(rootWithRange(a, frontier.slice(1), range)).toBeUndefined();
    }
  });
});
