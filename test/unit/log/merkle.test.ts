// RFC 9162 tree hashes and proofs: published vectors, an exhaustive check against the definitions, property tests.

import { describe, expect, it } from "vitest";
import {
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  nodeHash,
  referenceRoot,
  splitPoint,
  verifyConsistency,
  verifyInclusion,
} from "#shared/log/merkle.ts";
import { MerkleTree } from "#shared/log/merkle-tree.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));

// The Certificate Transparency test corpus (RFC 6962 reference implementation, transparency-dev/merkle testonly).
const LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map(unhex);
const ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const NODES = [
  [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
  ],
  [
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
  ],
  [
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  ],
];
const node = (level: number, index: number): string => (NODES[level] as string[])[index] as string;

function treeOf(leaves: readonly Uint8Array[]): MerkleTree {
  const tree = new MerkleTree();
  for (const leaf of leaves) tree.append(leafHash(leaf));
  return tree;
}

function flipBit(hash: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(hash);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

// PATH and SUBPROOF written from RFC 9162 §2.1.3.1 and §2.1.4.1 over leaf-hash arrays, without shortcuts.
function refPath(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = splitPoint(d.length);
  return m < k
    ? [...refPath(m, d.slice(0, k)), referenceRoot(d.slice(k))]
    : [...refPath(m - k, d.slice(k)), referenceRoot(d.slice(0, k))];
}
function refSubproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [referenceRoot(d)];
  const k = splitPoint(d.length);
  return m <= k
    ? [...refSubproof(m, d.slice(0, k), b), referenceRoot(d.slice(k))]
    : [...refSubproof(m - k, d.slice(k), false), referenceRoot(d.slice(0, k))];
}

describe("Merkle Tree Hash (RFC 9162 §2.1.1)", () => {
  it("matches the published roots of the CT corpus at every size, from the tree and the definition", () => {
    expect(hex(EMPTY_ROOT)).toBe(ROOTS[0]);
    const tree = new MerkleTree();
    expect(hex(tree.root())).toBe(ROOTS[0]);
    for (const [i, leaf] of LEAVES.entries()) {
      tree.append(leafHash(leaf));
      expect(hex(tree.root())).toBe(ROOTS[i + 1]);
      expect(hex(referenceRoot(LEAVES.slice(0, i + 1).map(leafHash)))).toBe(ROOTS[i + 1]);
    }
    for (let size = 0; size <= 8; size++) expect(hex(tree.root(size))).toBe(ROOTS[size]);
  });

  it("keeps the published node hashes of every complete subtree", () => {
    const tree = treeOf(LEAVES);
    for (const [level, hashes] of NODES.entries()) {
      for (const [i, h] of hashes.entries())
        expect(hex(tree.subtree(i * 2 ** level, (i + 1) * 2 ** level))).toBe(h);
    }
    expect(hex(nodeHash(unhex(node(0, 0)), unhex(node(0, 1))))).toBe(node(1, 0));
  });
});

describe("inclusion proofs (RFC 9162 §2.1.3)", () => {
  it("produces the corpus's audit paths", () => {
    const tree = treeOf(LEAVES);
    const cases: [number, number, string[]][] = [
      [0, 1, []],
      [0, 8, [node(0, 1), node(1, 1), node(2, 1)]],
      [5, 8, [node(0, 4), node(1, 3), node(2, 0)]],
      [2, 3, [node(1, 0)]],
      [1, 5, [node(0, 0), node(1, 1), node(0, 4)]],
      [6, 7, [node(1, 2), node(2, 0)]],
    ];
    for (const [index, size, expected] of cases) {
      const proof = inclusionProof(tree, index, size);
      expect(proof.map(hex)).toEqual(expected);
      expect(
        verifyInclusion(
          index,
          size,
          leafHash(LEAVES[index] as Uint8Array),
          proof,
          unhex(ROOTS[size] as string),
        ),
      ).toBe(true);
    }
  });

  it("rejects malformed and mismatched arguments", () => {
    const tree = treeOf(LEAVES);
    const proof = inclusionProof(tree, 2, 5);
    const leaf = leafHash(LEAVES[2] as Uint8Array);
    const root = unhex(ROOTS[5] as string);
    expect(verifyInclusion(2, 5, leaf, proof.slice(1), root)).toBe(false);
    expect(verifyInclusion(2, 5, leaf, [...proof, leaf], root)).toBe(false);
    expect(verifyInclusion(5, 5, leaf, proof, root)).toBe(false);
    expect(verifyInclusion(3, 5, leaf, proof, root)).toBe(false);
    expect(verifyInclusion(2, 3, leaf, proof, root)).toBe(false);
    expect(verifyInclusion(-1, 5, leaf, proof, root)).toBe(false);
    expect(verifyInclusion(2, 5, leaf.subarray(1), proof, root)).toBe(false);
    expect(() => inclusionProof(tree, 8, 8)).toThrow(RangeError);
    expect(() => inclusionProof(tree, 0, 9)).toThrow(RangeError);
  });
});

describe("consistency proofs (RFC 9162 §2.1.4)", () => {
  it("produces the corpus's proofs", () => {
    const tree = treeOf(LEAVES);
    const cases: [number, number, string[]][] = [
      [1, 1, []],
      [1, 8, [node(0, 1), node(1, 1), node(2, 1)]],
      [6, 8, [node(1, 2), node(1, 3), node(2, 0)]],
      [2, 5, [node(1, 1), node(0, 4)]],
      [4, 8, [node(2, 1)]],
      [
        3,
        7,
        [
          node(0, 2),
          node(0, 3),
          node(1, 0),
          "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
        ],
      ],
    ];
    for (const [m, n, expected] of cases) {
      const proof = consistencyProof(tree, m, n);
      expect(proof.map(hex)).toEqual(expected);
      expect(verifyConsistency(m, n, proof, unhex(ROOTS[m] as string), unhex(ROOTS[n] as string))).toBe(true);
    }
  });

  it("handles the edges: from the empty tree, equal sizes, backwards and empty proofs", () => {
    const r3 = unhex(ROOTS[3] as string);
    const r5 = unhex(ROOTS[5] as string);
    expect(verifyConsistency(0, 5, [], EMPTY_ROOT, r5)).toBe(true);
    expect(verifyConsistency(0, 5, [], r3, r5)).toBe(false);
    expect(verifyConsistency(5, 5, [], r5, r5)).toBe(true);
    expect(verifyConsistency(5, 5, [], r3, r5)).toBe(false);
    expect(verifyConsistency(5, 5, [r3], r5, r5)).toBe(false);
    expect(verifyConsistency(5, 3, [], r5, r3)).toBe(false);
    expect(verifyConsistency(3, 5, [], r3, r5)).toBe(false);
  });
});

describe("against the definitions, exhaustively for small trees", () => {
  it("every inclusion and consistency proof for sizes 1–48 equals PATH and SUBPROOF and verifies", () => {
    const leaves = Array.from({ length: 48 }, (_, i) => leafHash(Uint8Array.of(i, i >> 8)));
    const tree = new MerkleTree();
    for (const leaf of leaves) tree.append(leaf);
    for (let n = 1; n <= 48; n++) {
      const d = leaves.slice(0, n);
      const root = referenceRoot(d);
      expect(hex(tree.root(n))).toBe(hex(root));
      for (let m = 0; m < n; m++) {
        const path = inclusionProof(tree, m, n);
        expect(path.map(hex)).toEqual(refPath(m, d).map(hex));
        expect(verifyInclusion(m, n, d[m] as Uint8Array, path, root)).toBe(true);
      }
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(tree, m, n);
        expect(proof.map(hex)).toEqual(m === n ? [] : refSubproof(m, d, true).map(hex));
        expect(verifyConsistency(m, n, proof, referenceRoot(d.slice(0, m)), root)).toBe(true);
      }
    }
  });
});

describe("property tests", () => {
  const seed = Number(process.env.MERKLE_SEED ?? 0x5eed);
  const next = seededRandom(seed);
  const int = (below: number): number => Math.floor(next() * below);
  const leaves: Uint8Array[] = [];
  const tree = new MerkleTree();
  for (let i = 0; i < 5000; i++) {
    const leaf = leafHash(Uint8Array.of(...Buffer.from(`entry ${i}`)));
    leaves.push(leaf);
    tree.append(leaf);
  }
  const roots = new Map<number, Uint8Array>();
  const rootAt = (n: number): Uint8Array => {
    let r = roots.get(n);
    if (r === undefined) {
      r = tree.root(n);
      roots.set(n, r);
    }
    return r;
  };

  it(`3,000 random inclusion proofs verify, and every single-bit change fails (seed ${seed})`, () => {
    expect(hex(tree.root())).toBe(hex(referenceRoot(leaves)));
    for (let trial = 0; trial < 3000; trial++) {
      const size = 1 + int(trial < 2000 ? 300 : 5000);
      const index = int(size);
      const proof = inclusionProof(tree, index, size);
      const leaf = leaves[index] as Uint8Array;
      const root = rootAt(size);
      expect(verifyInclusion(index, size, leaf, proof, root), `index ${index} size ${size}`).toBe(true);
      expect(verifyInclusion(index, size, flipBit(leaf, int(256)), proof, root)).toBe(false);
      expect(verifyInclusion(index, size, leaf, proof, flipBit(root, int(256)))).toBe(false);
      for (const [i, p] of proof.entries()) {
        const bad = proof.slice();
        bad[i] = flipBit(p, int(256));
        expect(verifyInclusion(index, size, leaf, bad, root)).toBe(false);
      }
      if (size > 1) {
        const other = (index + 1 + int(size - 1)) % size;
        expect(verifyInclusion(other, size, leaf, proof, root)).toBe(false);
      }
    }
  });

  it(`3,000 random consistency proofs verify, and every single-bit change fails (seed ${seed})`, () => {
    for (let trial = 0; trial < 3000; trial++) {
      const second = 1 + int(trial < 2000 ? 300 : 5000);
      const first = 1 + int(second);
      const proof = consistencyProof(tree, first, second);
      const r1 = rootAt(first);
      const r2 = rootAt(second);
      expect(verifyConsistency(first, second, proof, r1, r2), `${first} → ${second}`).toBe(true);
      expect(verifyConsistency(first, second, proof, flipBit(r1, int(256)), r2)).toBe(false);
      expect(verifyConsistency(first, second, proof, r1, flipBit(r2, int(256)))).toBe(false);
      for (const [i, p] of proof.entries()) {
        const bad = proof.slice();
        bad[i] = flipBit(p, int(256));
        expect(verifyConsistency(first, second, bad, r1, r2)).toBe(false);
      }
      if (first < second) {
        expect(verifyConsistency(first, second, proof.slice(0, -1), r1, r2)).toBe(false);
        const forked = rootAt(Math.max(1, first - 1));
        if (first > 1) expect(verifyConsistency(first, second, proof, forked, r2)).toBe(false);
      }
    }
  });
});
