// Test runner configuration: one project, tests under test/, real components, no network beyond 127.0.0.1.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    // Each PGlite instance costs ~800 MB and a core; two files at a time fits the 2-core machine.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ["test/global-setup.ts"],
    // CI asks for a JSON report next to the console output (.ci/run prints "N passed, N failed" from it).
    reporters: process.env.PHIGATE_TEST_REPORT
      ? ["default", ["json", { outputFile: process.env.PHIGATE_TEST_REPORT }]]
      : ["default"],
  },
});
