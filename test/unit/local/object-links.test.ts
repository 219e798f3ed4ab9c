// Signed, expiring object links on the local host: served while valid, 404 once expired, tampered or re-pointed.

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import { type RunningServer, startServer } from "#infra/local/server.ts";
import { RouteTable } from "#shared/http/route-table.ts";
import { createJsonLogger } from "#shared/log.ts";

function rawStatus(port: string, path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port: Number(port), path }, (response) => {
      response.resume();
      resolve(response.statusCode);
    }).on("error", reject);
  });
}

describe("local object links", () => {
  let dir: string;
  let server: RunningServer;
  let store: FileObjectStore;
  let now = Date.parse("2026-01-02T03:04:05Z");
  const body = randomBytes(100_000);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-links-"));
    server = await startServer({
      host: "127.0.0.1",
      port: 0,
      logger: createJsonLogger({ service: "test", level: "error", write: () => undefined }),
    });
    store = new FileObjectStore({
      directory: dir,
      linkKey: randomBytes(32),
      baseUrl: () => server.url,
      clock: { now: () => new Date(now) },
    });
    server.mount({ routes: new RouteTable([]), handlers: new Map(), localRoutes: [], objects: store });
    await store.put("results/2026-01-02/a.ndjson.gz", body, "application/x-ndjson+gzip");
    await store.put("results/2026-01-02/b.ndjson.gz", randomBytes(10), "application/x-ndjson+gzip");
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves the exact stored bytes while the link is valid, as an attachment", async () => {
    const url = await store.readUrl("results/2026-01-02/a.ndjson.gz", 60);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/gzip");
    expect(response.headers.get("content-encoding")).toBeNull();
    expect(response.headers.get("cache-control")).toBe("no-store");
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(
      createHash("sha256").update(body).digest("hex"),
    );
  });

  it("refuses a link once it has expired", async () => {
    const url = await store.readUrl("results/2026-01-02/a.ndjson.gz", 60);
    now += 61_000;
    try {
      const response = await fetch(url);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
    } finally {
      now -= 61_000;
    }
  });

  it("refuses a tampered signature, a moved expiry, another key under the same signature, and unsigned links", async () => {
    const url = new URL(await store.readUrl("results/2026-01-02/a.ndjson.gz", 60));
    const signature = url.searchParams.get("signature") ?? "";
    const expires = url.searchParams.get("expires") ?? "";
    const flipped = `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`;
    const variants = [
      `${url.origin}${url.pathname}?expires=${expires}&signature=${flipped}`,
      `${url.origin}${url.pathname}?expires=${Number(expires) + 3600}&signature=${signature}`,
      `${url.origin}/objects/results/2026-01-02/b.ndjson.gz?expires=${expires}&signature=${signature}`,
      `${url.origin}${url.pathname}`,
      `${url.origin}${url.pathname}?expires=${expires}`,
    ];
    for (const variant of variants) expect((await fetch(variant)).status, variant).toBe(404);
    // Dot segments are resolved before the signature is checked: they cannot reach another key.
    const raw = `/objects/results/2026-01-02/a.ndjson.gz/../b.ndjson.gz?expires=${expires}&signature=${signature}`;
    expect(await rawStatus(url.port, raw)).toBe(404);
  });
});
