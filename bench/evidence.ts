// Evidence bundle build and verify times for N recorded sessions on the local adapters: `npx tsx bench/evidence.ts [N...]`.

import { buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import { verifyBundle } from "#shared/evidence/verify-bundle.ts";
import { openEvidenceFixture } from "#test/support/evidence-fixture.ts";

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);

for (const n of sizes.length > 0 ? sizes : [1_000, 10_000]) {
  const f = await openEvidenceFixture();
  try {
    const recording = performance.now();
    for (let done = 0; done < n; done += 200) {
      await Promise.all(Array.from({ length: Math.min(200, n - done) }, () => f.completed()));
    }
    const recordedMs = performance.now() - recording;
    const building = performance.now();
    const built = await buildEvidenceBundle(
      f.deps,
      new Date(f.start.getTime() - 1_000),
      new Date(Date.now() - 5_000),
    );
    const buildMs = performance.now() - building;
    const verifying = performance.now();
    const verification = await verifyBundle(built.location, {
      trustedKey: built.manifest.signing.keyFingerprint,
    });
    const verifyMs = performance.now() - verifying;
    const bytes = built.manifest.files.reduce((sum, file) => sum + file.size, 0);
    console.log(
      `${n} sessions (${built.manifest.chain.entries} chain entries, ${(bytes / 1_048_576).toFixed(1)} MiB): ` +
        `recorded in ${Math.round(recordedMs)} ms, bundle built in ${Math.round(buildMs)} ms, ` +
        `verified in ${Math.round(verifyMs)} ms (${verification.ok ? "OK" : verification.problems[0]?.class})`,
    );
  } finally {
    await f.close();
  }
}
