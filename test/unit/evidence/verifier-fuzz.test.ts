// The verifier against thousands of mutated bundle trees (symlinks, FIFOs, huge and truncated files, bad UTF-8,
// path tricks, rewritten JSON): every tree ends in a verdict — no exception, no hang, bounded memory.

import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  link,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  truncate,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import type { Manifest } from "#shared/evidence/bundle-format.ts";
import { MAX_LINE_BYTES, MAX_UNTRUSTED_READ_BYTES } from "#shared/evidence/bundle-reader.ts";
import { PROBLEM_CLASSES } from "#shared/evidence/problems.ts";
import { type Verification, verifyBundle } from "#shared/evidence/verify-bundle.ts";
import { localPolicyChanger } from "#shared/sessions/policy-change.ts";
import { type EvidenceFixture, openEvidenceFixture } from "#test/support/evidence-fixture.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

const TREES = Number(process.env.PHIGATE_FUZZ_TREES ?? 2_000);
const SEED = Number(process.env.PHIGATE_FUZZ_SEED ?? 20_260_520);
/** A tree that takes this long hangs (a healthy verification of these small trees takes milliseconds). */
const HANG_MS = 20_000;
const FIFOS = 16;
/** Trees mutated and verified at once (file system waits overlap; verification stays bounded per tree). */
const PARALLEL = 4;
const run = promisify(execFile);
const BIN = resolve("bin/phigate.mjs");

type Files = Map<string, Buffer>;

interface Tree {
  readonly dir: string;
  readonly files: Files;
  readonly random: () => number;
  /** FIFOs borrowed from the pool (returned after the verdict). */
  readonly fifos: string[];
  /** Paths `rm` cannot name by string (not UTF-8), removed by bytes. */
  readonly byteNames: Buffer[];
}

const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;

const HOSTILE_NAMES = [
  "\u001b]0;pwned\u0007.yaml",
  "new\nline",
  "..policy",
  "-rf",
  " ",
  "x".repeat(250),
  "\u202Egnp.yaml",
];

/**
 * Makes every folder on the way to `path` a real folder of the tree (a mutation may have made one a symlink), so
 * nothing is ever written outside it: the test may run as root, and the symlinks point at /dev/zero.
 */
async function realParents(t: Tree, path: string): Promise<void> {
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const folder = join(t.dir, ...parts.slice(0, i));
    const info = await lstat(folder).catch(() => undefined);
    if (info?.isDirectory() === true) continue;
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder);
  }
}

/** Replaces `path` with a new regular file (`O_EXCL`: never through a symlink, never into a FIFO). */
async function replace(t: Tree, path: string, bytes: Uint8Array, size?: number): Promise<void> {
  await realParents(t, path);
  await rm(join(t.dir, path), { recursive: true, force: true });
  const handle = await open(join(t.dir, path), "wx");
  try {
    await handle.write(bytes);
    if (size !== undefined) await handle.truncate(size);
  } finally {
    await handle.close();
  }
}

/** Removes `path` (a symlink is removed, never followed) so something else can take its place. */
async function clear(t: Tree, path: string): Promise<string> {
  await realParents(t, path);
  await rm(join(t.dir, path), { recursive: true, force: true });
  return join(t.dir, path);
}

const original = (t: Tree, path: string): Buffer => t.files.get(path) ?? Buffer.alloc(0);

/** The mutations: each changes the tree on disk (after its files were written). */
const MUTATIONS: Record<string, (t: Tree, path: string) => Promise<void>> = {
  async symlinkOut(t, path) {
    const target = pick(t.random, ["/dev/zero", "/dev/urandom", decoy, "/nonexistent/x", "self"]);
    const full = await clear(t, path);
    await symlink(target === "self" ? full : target, full);
  },
  async symlinkInside(t, path) {
    const other = pick(t.random, [...t.files.keys()]);
    await symlink(join(t.dir, other), await clear(t, path));
  },
  async fifo(t, path) {
    const fifo = pool.pop();
    if (fifo === undefined) return;
    const full = await clear(t, path);
    await rename(fifo, full);
    t.fifos.push(full);
  },
  async folder(t, path) {
    await mkdir(join(await clear(t, path), "a", "b", "c", "d", "e"), { recursive: true });
  },
  async hugeSparse(t, path) {
    await replace(t, path, original(t, path), pick(t.random, [3 * 2 ** 30, 2 ** 36, 64 * 2 ** 20]));
  },
  async hugeLine(t, path) {
    // A last line just over the line cap (sparse: no bytes written, zeros read back).
    const bytes = original(t, path);
    await replace(t, path, bytes, bytes.length + MAX_LINE_BYTES + 1);
  },
  async truncated(t, path) {
    const bytes = original(t, path);
    await replace(t, path, bytes.subarray(0, Math.floor(t.random() * bytes.length)));
  },
  async empty(t, path) {
    await replace(t, path, Buffer.alloc(0));
  },
  async removed(t, path) {
    await clear(t, path);
  },
  async badUtf8(t, path) {
    const bytes = Buffer.from(original(t, path));
    for (let i = 0; i < 1 + Math.floor(t.random() * 8); i++) {
      if (bytes.length === 0) break;
      bytes[Math.floor(t.random() * bytes.length)] = pick(t.random, [0xff, 0xc3, 0xed, 0x80, 0xfe, 0xf8]);
    }
    await replace(t, path, bytes);
  },
  async byteFlip(t, path) {
    const bytes = Buffer.from(original(t, path));
    if (bytes.length > 0) {
      const at = Math.floor(t.random() * bytes.length);
      bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(t.random() * 8));
    }
    await replace(t, path, bytes);
  },
  async controlBytes(t, path) {
    const text = original(t, path).toString("utf8");
    const at = Math.floor(t.random() * (text.length + 1));
    const hostile = "\u001b]52;c;ZXZpbA==\u0007\u009b2J\u202E";
    await replace(t, path, Buffer.from(`${text.slice(0, at)}${hostile}${text.slice(at)}`));
  },
  async lines(t, path) {
    const lines = original(t, path).toString("utf8").split("\n");
    const i = Math.floor(t.random() * lines.length);
    const j = Math.floor(t.random() * lines.length);
    const choice = Math.floor(t.random() * 5);
    if (choice === 0) lines.splice(i, 0, lines[j] ?? "");
    else if (choice === 1) lines.splice(i, 1);
    else if (choice === 2) [lines[i], lines[j]] = [lines[j] ?? "", lines[i] ?? ""];
    else if (choice === 3) lines.splice(i, 0, `${"[".repeat(200_000)}${"]".repeat(200_000)}`);
    else
      lines.splice(
        i,
        0,
        '{"seq":1e308,"day":"","recordedAt":"x","prev":"","digest":"","record":{"schema":"phigate.policy-change/v1","from":null,"to":{},"by":{}}}',
      );
    await replace(t, path, Buffer.from(lines.join("\n")));
  },
  async json(t, path) {
    let value: unknown;
    try {
      value = JSON.parse(original(t, path).toString("utf8"));
    } catch {
      return;
    }
    const mutate = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(mutate);
      if (v !== null && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) if (t.random() >= 0.05) out[k] = mutate(x);
        if (t.random() < 0.05) out[pick(t.random, ["path", "size", "schema", "seq"])] = "../../etc/passwd";
        return out;
      }
      if (t.random() > 0.1) return v;
      return pick(t.random, [
        null,
        -1,
        1e300,
        2 ** 53 + 1,
        "",
        "../../../../etc/passwd",
        "/dev/zero",
        "policies/../manifest.json",
        "\u001b]0;x\u0007",
        [[[[[]]]]],
        { a: 1 },
        "x".repeat(100_000),
      ]);
    };
    await replace(t, path, Buffer.from(JSON.stringify(mutate(value), null, 2)));
  },
  async extraFile(t) {
    const folder = pick(t.random, ["", "policies", "catalogs"]);
    const path = folder === "" ? pick(t.random, HOSTILE_NAMES) : `${folder}/${pick(t.random, HOSTILE_NAMES)}`;
    await replace(t, path, Buffer.from("extra"));
  },
  async badName(t) {
    // A file name that is not UTF-8 (bytes a string cannot hold).
    const name = Buffer.concat([Buffer.from(`${t.dir}/`), Buffer.from([0xff, 0xfe, 0x2e, 0x79])]);
    await rm(name, { force: true });
    await writeFile(name, "x", { flag: "wx" });
    t.byteNames.push(name);
  },
  async hardLink(t, path) {
    await link(outside, await clear(t, path));
  },
  async symlinkFolder(t) {
    const folder = pick(t.random, ["policies", "catalogs"]);
    await symlink(pick(t.random, [decoy, "/dev", join(t.dir, "..")]), await clear(t, folder));
  },
  async deepFolders(t) {
    await mkdir(join(t.dir, ...Array.from({ length: 40 }, (_, i) => `d${i}`)), { recursive: true });
  },
};

let pool: string[] = [];
/** Names FIFOs returned to the pool: unique, so two returns can never land on one name (which would hand one FIFO out twice). */
let returned = 0;
/** A file outside the tree (hard links to it), and a folder outside it (symlinks to it). */
let outside = "";
let decoy = "";

/** A tree of hard links to the pristine files (mutations replace files, never write into them). */
async function linkTree(dir: string, pristine: string, files: Files): Promise<void> {
  for (const path of files.keys()) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await link(join(pristine, path), join(dir, path));
  }
}

async function writeTree(dir: string, files: Files): Promise<void> {
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
}

function checkVerdict(v: Verification): void {
  expect(typeof v.ok).toBe("boolean");
  expect(v.ok).toBe(v.problems.length === 0);
  for (const p of v.problems) {
    expect(PROBLEM_CLASSES).toContain(p.class);
    expect(typeof p.message).toBe("string");
  }
}

describe("verifyBundle on mutated bundle trees", () => {
  let f: EvidenceFixture;
  let root: string;
  let fifoDir: string;
  let base: Files;
  let pristine: string;

  beforeAll(async () => {
    f = await openEvidenceFixture();
    const by = localPolicyChanger("policy.yaml");
    await f.sessions.recordPolicy({ name: "evidence-test", digest: f.policyDigest }, by);
    await f.rejected();
    await f.completed({
      columns: ["department", "diagnosis_code"],
      masking: [null, { rule: "public.encounters.diagnosis_code", strategy: "redact" }],
    });
    const bundle = (await f.build()).location;
    base = new Map();
    const walk = async (prefix: string): Promise<void> => {
      for (const entry of await readdir(join(bundle, prefix), { withFileTypes: true })) {
        const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
        if (entry.isDirectory()) await walk(path);
        else base.set(path, await readFile(join(bundle, path)));
      }
    };
    await walk("");
    root = await mkdtemp(join(tmpdir(), "phigate-fuzz-"));
    fifoDir = join(root, "fifos");
    await mkdir(fifoDir);
    pool = Array.from({ length: FIFOS }, (_, i) => join(fifoDir, `fifo-${i}`));
    execFileSync("mkfifo", pool);
    outside = join(root, "outside.txt");
    await writeFile(outside, "known bytes\n");
    decoy = join(root, "decoy");
    await writeTree(decoy, base);
    pristine = join(root, "pristine");
    await writeTree(pristine, base);
  }, 120_000);
  afterAll(async () => {
    await f.close();
    await rm(root, { recursive: true, force: true });
  });

  it("passes the untouched tree", async () => {
    const dir = join(root, "untouched");
    await writeTree(dir, base);
    const v = await verifyBundle(dir);
    expect(v.problems).toEqual([]);
    expect(v.facts?.policyChanges).toHaveLength(1);
  });

  it(`ends every one of ${TREES} mutated trees in a verdict, within a time and memory bound`, async () => {
    const names = Object.keys(MUTATIONS);
    const paths = [...base.keys()];
    const seen = new Map<string, number>();
    const classes = new Set<string>();
    const started = Date.now();
    const rssBefore = process.memoryUsage.rss();
    let peakRss = rssBefore;
    let slowest = 0;
    let verifying = 0;
    let ok = 0;
    const one = async (i: number): Promise<void> => {
      const random = seededRandom(SEED + i);
      const dir = join(root, `t${i}`);
      const tree: Tree = { dir, files: base, random, fifos: [], byteNames: [] };
      await linkTree(dir, pristine, base);
      const applied: string[] = [];
      for (let m = 0; m < 1 + Math.floor(random() * 3); m++) {
        const name = pick(random, names);
        const path = pick(random, paths);
        applied.push(`${name}(${path})`);
        seen.set(name, (seen.get(name) ?? 0) + 1);
        await (MUTATIONS[name] as (t: Tree, p: string) => Promise<void>)(tree, path);
      }
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const verdict = await Promise.race([
        verifyBundle(dir).then(
          (v) => v,
          (error: unknown) => new Error(`tree ${i} [${applied.join(", ")}] threw: ${String(error)}`),
        ),
        new Promise<Error>((done) => {
          timer = setTimeout(() => done(new Error(`tree ${i} [${applied.join(", ")}] hangs`)), HANG_MS);
        }),
      ]);
      clearTimeout(timer);
      slowest = Math.max(slowest, Date.now() - t0);
      verifying += Date.now() - t0;
      if (verdict instanceof Error) throw verdict;
      checkVerdict(verdict);
      if (verdict.ok) ok += 1;
      for (const p of verdict.problems) classes.add(p.class);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      for (const fifo of tree.fifos) {
        const back = join(fifoDir, `fifo-r${i}-${returned++}`);
        if (
          await rename(fifo, back).then(
            () => true,
            () => false,
          )
        )
          pool.push(back);
      }
      for (const name of tree.byteNames) await rm(name, { force: true });
      await rm(dir, { recursive: true, force: true });
    };
    let next = 0;
    let failed = false;
    // Every worker stops at the first failure and all are awaited before it is reported, so no tree is still being
    // written when the folder is removed.
    const workers = await Promise.allSettled(
      Array.from({ length: PARALLEL }, async () => {
        while (next < TREES && !failed)
          await one(next++).catch((error: unknown) => {
            failed = true;
            throw error;
          });
      }),
    );
    for (const w of workers) if (w.status === "rejected") throw w.reason;
    const seconds = (Date.now() - started) / 1000;
    console.info(
      `verifier fuzz: ${TREES} trees (seed ${SEED}) in ${seconds.toFixed(1)} s (${(verifying / 1000).toFixed(1)} s verifying), slowest ${slowest} ms, ` +
        `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (+${((peakRss - rssBefore) / 2 ** 20).toFixed(0)} MiB); ` +
        `${ok} verified; classes ${[...classes].sort().join(" ")}; mutations ${[...seen].map(([k, v]) => `${k}:${v}`).join(" ")}`,
    );
    expect(seen.size).toBe(names.length);
    expect(
      classes.has("file_unexpected") && classes.has("not_a_bundle") && classes.has("record_altered"),
    ).toBe(true);
    expect(peakRss - rssBefore).toBeLessThan(768 * 2 ** 20);
  }, 600_000);

  it("reads no further than a key it does not trust signs: a re-signed manifest listing a sparse terabyte", async () => {
    const dir = join(root, "terabyte");
    await writeTree(dir, base);
    const terabyte = 2 ** 40;
    await truncate(join(dir, "sessions.jsonl"), terabyte);
    const forger = await LocalSigner.open(join(root, "forger-keys"));
    const key = await forger.publicKey();
    await writeFile(join(dir, "public-key.pem"), key.pem);
    const manifest = JSON.parse(
      original({ files: base } as Tree, "manifest.json").toString("utf8"),
    ) as Manifest;
    const pem = Buffer.from(key.pem);
    const next: Manifest = {
      ...manifest,
      signing: { ...manifest.signing, keyFingerprint: key.fingerprint },
      files: manifest.files.map((file) =>
        file.path === "sessions.jsonl"
          ? { ...file, size: terabyte }
          : file.path === "public-key.pem"
            ? { ...file, size: pem.length, sha256: createHash("sha256").update(pem).digest("hex") }
            : file,
      ),
    };
    const bytes = Buffer.from(`${JSON.stringify(next, null, 2)}\n`);
    await writeFile(join(dir, "manifest.json"), bytes);
    await writeFile(
      join(dir, "manifest.sig"),
      await forger.signDigest(createHash("sha256").update(bytes).digest()),
    );
    const v = await verifyBundle(dir);
    expect(v.trust).toBe("not_checked");
    expect(v.problems.map((p) => p.message)).toContain(
      `sessions.jsonl was not read: its listed ${terabyte} bytes are more than the ${MAX_UNTRUSTED_READ_BYTES} this verifier reads of a bundle not signed by a trusted key (--trusted-key)`,
    );
  });

  it("the real command: a hostile tree exits 1 naming the file, never with a stack trace", async () => {
    const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
      [
        "manifest.sig -> /dev/zero",
        (d) => rm(join(d, "manifest.sig")).then(() => symlink("/dev/zero", join(d, "manifest.sig"))),
        /^FAIL not_a_bundle: manifest\.sig is a symbolic link/,
      ],
      [
        "FIFO manifest.json",
        async (d) => {
          await rm(join(d, "manifest.json"));
          execFileSync("mkfifo", [join(d, "manifest.json")]);
        },
        /^FAIL not_a_bundle: manifest\.json is a FIFO, not a regular file/,
      ],
      [
        "3 GiB one-line sessions.jsonl",
        (d) =>
          truncate(join(d, "sessions.jsonl"), 0).then(() => truncate(join(d, "sessions.jsonl"), 3 * 2 ** 30)),
        /^FAIL record_altered: sessions\.jsonl line 1 is longer than \d+ bytes: not a chain entry/,
      ],
    ];
    for (const [name, mutate, expected] of cases) {
      const dir = join(root, `cli-${cases.findIndex((c) => c[0] === name)}`);
      await writeTree(dir, base);
      await mutate(dir);
      const result = await run(process.execPath, [BIN, "verify-evidence", dir]).then(
        (r) => ({ code: 0, ...r }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(result.code, name).toBe(1);
      expect(result.stderr, name).toMatch(expected);
      expect(result.stderr, name).not.toMatch(/\n\s+at /);
    }
  }, 120_000);
});
