// Debian's Chromium driven by playwright-core for the browser tests: where it is, how to skip without it, how to launch.

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { describe, it } from "vitest";

/** Where `apt-get install chromium` puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";
/** Screenshots the browser tests keep (ignored by git). */
export const ARTIFACTS = resolve("test-artifacts");

/**
 * `describe` when Chromium is installed, else a visible skip with the reason (and a warning on stderr). With
 * `PHIGATE_REQUIRE_CHROMIUM=1` (CI sets it) a missing browser fails the suite instead.
 */
export function describeWithChromium(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, body);
    return;
  }
  const reason = `${CHROMIUM} is missing: install it with \`apt-get install -y chromium\` (CI's .ci/run does)`;
  if (process.env.PHIGATE_REQUIRE_CHROMIUM === "1") {
    describe(name, () => {
      it("needs Chromium (PHIGATE_REQUIRE_CHROMIUM=1)", () => {
        throw new Error(reason);
      });
    });
  } else {
    console.warn(`[chromium] skipping "${name}": ${reason}`);
    describe.skip(`${name} (skipped: ${reason})`, body);
  }
}

/** A headless browser with its own throwaway profile. */
export interface TestBrowser {
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Launches headless Chromium with no network of its own beyond what a page asks for; creates ARTIFACTS. */
export async function launchChromium(viewport?: { width: number; height: number }): Promise<TestBrowser> {
  await mkdir(ARTIFACTS, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), "phigate-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      ...(viewport === undefined ? {} : { viewport }),
    });
    return {
      context,
      async close() {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
