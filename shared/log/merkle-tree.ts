// An append-only RFC 9162 Merkle tree in memory: every complete subtree's hash kept per level, O(1) appends.

import { EMPTY_ROOT, HASH_SIZE, nodeHash, type SubtreeHasher, splitPoint } from "#shared/log/merkle.ts";

/** A growable array of 32-byte hashes in one buffer. */
class HashList {
  private bytes = new Uint8Array(HASH_SIZE * 64);
  length = 0;

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_SIZE > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(hash, this.length * HASH_SIZE);
    this.length += 1;
  }

  at(index: number): Uint8Array {
    return this.bytes.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }
}

/**
 * The leaves' hashes and every complete (aligned, power-of-two) subtree above them. Any MTH(D[lo:hi]) the proofs
 * need is then a lookup or O(log n) node hashes.
 */
export class MerkleTree implements SubtreeHasher {
  private readonly levels: HashList[] = [new HashList()];

  /** Number of leaves. */
  get size(): number {
    return (this.levels[0] as HashList).length;
  }

  /** Appends a leaf hash (see `leafHash`); returns its index. */
  append(leaf: Uint8Array): number {
    if (leaf.length !== HASH_SIZE) throw new TypeError("a leaf hash is 32 bytes");
    const index = this.size;
    (this.levels[0] as HashList).push(leaf);
    let level = 0;
    let position = index;
    while (position % 2 === 1) {
      const below = this.levels[level] as HashList;
      const parent = nodeHash(below.at(position - 1), below.at(position));
      level += 1;
      this.levels[level] ??= new HashList();
      (this.levels[level] as HashList).push(parent);
      position = (position - 1) / 2;
    }
    return index;
  }

  /** The hash of leaf `index`. */
  leaf(index: number): Uint8Array {
    if (index < 0 || index >= this.size) throw new RangeError(`no leaf ${index}`);
    return Uint8Array.from((this.levels[0] as HashList).at(index));
  }

  /** MTH(D[lo:hi]) over the stored leaves. */
  subtree(lo: number, hi: number): Uint8Array {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < 0 || hi > this.size || lo > hi) {
      throw new RangeError(`no subtree [${lo}, ${hi}) in a tree of size ${this.size}`);
    }
    const n = hi - lo;
    if (n === 0) return EMPTY_ROOT;
    let level = 0;
    while (2 ** level < n) level += 1;
    if (2 ** level === n && lo % n === 0) {
      return Uint8Array.from((this.levels[level] as HashList).at(lo / n));
    }
    const k = splitPoint(n);
    return nodeHash(this.subtree(lo, lo + k), this.subtree(lo + k, hi));
  }

  /** MTH of the first `size` leaves (default: all). */
  root(size: number = this.size): Uint8Array {
    return this.subtree(0, size);
  }
}
