// RFC 9162 §2.1 Merkle Tree Hash, inclusion and consistency proofs over SHA-256, and their verification.

import { createHash } from "node:crypto";

/** Bytes in a SHA-256 hash. */
export const HASH_SIZE = 32;

/** MTH({}): the root of the empty tree, SHA-256 of no bytes. */
export const EMPTY_ROOT: Uint8Array = createHash("sha256").digest();

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);

/** The hash of a leaf: SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Uint8Array {
  return createHash("sha256").update(LEAF_PREFIX).update(data).digest();
}

/** The hash of an interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash("sha256").update(NODE_PREFIX).update(left).update(right).digest();
}

/** The largest power of two strictly less than `n` (n > 1). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Whether two hashes are the same bytes. */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** A source of subtree hashes: MTH(D[lo:hi]) of one tree's leaves. */
export interface SubtreeHasher {
  subtree(lo: number, hi: number): Uint8Array;
}

/** PATH(m, D[0:n]) (RFC 9162 §2.1.3.1): the audit path of leaf `index` in the tree of the first `size` leaves. */
export function inclusionProof(tree: SubtreeHasher, index: number, size: number): Uint8Array[] {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new RangeError(`no leaf ${index} in a tree of size ${size}`);
  }
  const path: Uint8Array[] = [];
  let lo = 0;
  let hi = size;
  let m = index;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < k) {
      path.push(tree.subtree(lo + k, hi));
      hi = lo + k;
    } else {
      path.push(tree.subtree(lo, lo + k));
      lo += k;
      m -= k;
    }
  }
  return path.reverse();
}

/** PROOF(m, D[n]) (RFC 9162 §2.1.4.1): proves the tree of `second` leaves extends the tree of `first`. */
export function consistencyProof(tree: SubtreeHasher, first: number, second: number): Uint8Array[] {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) {
    throw new RangeError(`no consistency proof from size ${first} to size ${second}`);
  }
  if (first === 0 || first === second) return [];
  const proof: Uint8Array[] = [];
  let lo = 0;
  let hi = second;
  let m = first;
  let complete = true;
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      proof.push(tree.subtree(lo + k, hi));
      hi = lo + k;
    } else {
      proof.push(tree.subtree(lo, lo + k));
      lo += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) proof.push(tree.subtree(lo, hi));
  return proof.reverse();
}

function isPowerOfTwo(n: number): boolean {
  let v = n;
  while (v > 1 && v % 2 === 0) v /= 2;
  return v === 1;
}

function isHash(value: Uint8Array): boolean {
  return value.length === HASH_SIZE;
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–4), or undefined when the proof has the wrong
 * shape for `index` and `size`.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return undefined;
  if (!isHash(leaf) || !proof.every(isHash)) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/** RFC 9162 §2.1.3.2: whether `proof` proves `leaf` (a leaf hash) is leaf `index` of the tree `root` of `size` leaves. */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  return computed !== undefined && sameHash(computed, root);
}

/**
 * RFC 9162 §2.1.4.2: whether `proof` proves the tree `secondRoot` of `second` leaves extends the tree `firstRoot`
 * of `first` leaves. Equal sizes need an empty proof and equal roots; from the empty tree, an empty proof and the
 * empty root.
 */
export function verifyConsistency(
  first: number,
  second: number,
  proof: readonly Uint8Array[],
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second)
    return false;
  if (!isHash(firstRoot) || !isHash(secondRoot) || !proof.every(isHash)) return false;
  if (first === 0) return proof.length === 0 && sameHash(firstRoot, EMPTY_ROOT);
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  if (proof.length === 0) return false;
  const path = [...proof];
  if (isPowerOfTwo(first)) path.unshift(firstRoot);
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(fr, firstRoot) && sameHash(sr, secondRoot);
}

/** MTH(D[n]) computed straight from the definition (RFC 9162 §2.1.1): the reference the faster tree is checked against. */
export function referenceRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  const k = splitPoint(leaves.length);
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}
