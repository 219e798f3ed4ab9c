// Proving a contiguous range of leaves: the prefix's complete-subtree hashes, then the range appended, give the root.

import { nodeHash } from "#shared/log/merkle.ts";

/** The heights of the complete subtrees making up the first `size` leaves, left to right (the set bits of size). */
function frontierHeights(size: number): number[] {
  const heights: number[] = [];
  for (let h = 52; h >= 0; h--) if (Math.floor(size / 2 ** h) % 2 === 1) heights.push(h);
  return heights;
}

/** Folds complete subtrees, left to right, into the RFC 9162 root of the tree they make up. */
function fold(hashes: readonly Uint8Array[]): Uint8Array | undefined {
  if (hashes.length === 0) return undefined;
  let root = hashes[hashes.length - 1] as Uint8Array;
  for (let i = hashes.length - 2; i >= 0; i--) root = nodeHash(hashes[i] as Uint8Array, root);
  return root;
}

/** The root of the first `size` leaves from their frontier, or undefined when the frontier has the wrong shape. */
export function rootFromFrontier(size: number, frontier: readonly Uint8Array[]): Uint8Array | undefined {
  if (frontier.length !== frontierHeights(size).length || frontier.some((h) => h.length !== 32))
    return undefined;
  return size === 0 ? undefined : fold(frontier);
}

/**
 * The root of the tree of `size + leaves.length` leaves whose first `size` leaves have `frontier` and whose next
 * leaves are `leaves` (leaf hashes, in order): a range that omits, adds or reorders a leaf gives another root.
 */
export function rootWithRange(
  size: number,
  frontier: readonly Uint8Array[],
  leaves: readonly Uint8Array[],
): Uint8Array | undefined {
  const heights = frontierHeights(size);
  if (frontier.length !== heights.length || frontier.some((h) => h.length !== 32)) return undefined;
  const stack = frontier.map((hash, i) => ({ hash, height: heights[i] as number }));
  for (const leaf of leaves) {
    if (leaf.length !== 32) return undefined;
    let top = { hash: leaf, height: 0 };
    while (stack.length > 0 && (stack[stack.length - 1] as (typeof stack)[number]).height === top.height) {
      const left = stack.pop() as (typeof stack)[number];
      top = { hash: nodeHash(left.hash, top.hash), height: top.height + 1 };
    }
    stack.push(top);
  }
  return fold(stack.map((s) => s.hash));
}
