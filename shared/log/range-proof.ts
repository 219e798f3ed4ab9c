// Proving a contiguous range of leaves: the prefix's complete-subtree hashes, then the range appended, give the root.

import { EMPTY_ROOT, nodeHash } from "#shared/log/merkle.ts";

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

/** Appends a range's leaves one at a time to a prefix's frontier; the root of the tree so far is available at any point. */
export class RangeAccumulator {
  private readonly stack: { hash: Uint8Array; height: number }[];
  /** Leaves in the tree so far (the prefix and the leaves pushed). */
  size: number;

  private constructor(size: number, stack: { hash: Uint8Array; height: number }[]) {
    this.size = size;
    this.stack = stack;
  }

  /** Starts after the first `size` leaves, or undefined when `frontier` has the wrong shape for `size`. */
  static after(size: number, frontier: readonly Uint8Array[]): RangeAccumulator | undefined {
    const heights = frontierHeights(size);
    if (frontier.length !== heights.length || frontier.some((h) => h.length !== 32)) return undefined;
    return new RangeAccumulator(
      size,
      frontier.map((hash, i) => ({ hash, height: heights[i] as number })),
    );
  }

  push(leaf: Uint8Array): void {
    let top = { hash: leaf, height: 0 };
    while (
      this.stack.length > 0 &&
      (this.stack[this.stack.length - 1] as { height: number }).height === top.height
    ) {
      const left = this.stack.pop() as { hash: Uint8Array; height: number };
      top = { hash: nodeHash(left.hash, top.hash), height: top.height + 1 };
    }
    this.stack.push(top);
    this.size += 1;
  }

  /** The hashes of the complete subtrees making up the tree so far, left to right (what `after` starts from). */
  frontier(): Uint8Array[] {
    return this.stack.map((s) => Uint8Array.from(s.hash));
  }

  /** The RFC 9162 root of the tree so far (the empty root for an empty tree). */
  root(): Uint8Array {
    return fold(this.stack.map((s) => s.hash)) ?? EMPTY_ROOT;
  }
}
