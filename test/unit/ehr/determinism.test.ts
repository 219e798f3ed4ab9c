// Every run produces the same data: the dataset digest is stable, pinned for the defaults, and seed-sensitive.

import { describe, expect, it } from "vitest";
import { ehrDatasetDigest } from "#tools/ehr/digest.ts";
import { generatePatients } from "#tools/ehr/generate.ts";

/**
 * The digest of the default dataset. A change here means the default data changed: update it only on purpose
 * (and say why in the commit), since docs, demos and tests may quote rows of the default dataset.
 */
const DEFAULT_DATASET_DIGEST = "bd3fc511816c4f0a6f91151a8a4b5a93eb7c92955bf54ec816527430ae4bc1e5";

describe("ehrDatasetDigest", () => {
  it("is pinned for the default options", () => {
    expect(ehrDatasetDigest()).toBe(DEFAULT_DATASET_DIGEST);
  });

  it("is the same for the same options and does not depend on the batch size", () => {
    const options = { seed: 99, patients: 300 };
    const digest = ehrDatasetDigest(options);
    expect(ehrDatasetDigest(options)).toBe(digest);
    expect(ehrDatasetDigest({ ...options, batchSize: 7 })).toBe(digest);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes with the seed and with the sizes", () => {
    const digest = ehrDatasetDigest({ seed: 99, patients: 300 });
    expect(ehrDatasetDigest({ seed: 100, patients: 300 })).not.toBe(digest);
    expect(ehrDatasetDigest({ seed: 99, patients: 301 })).not.toBe(digest);
    expect(ehrDatasetDigest({ seed: 99, patients: 300, encounters: 1 })).not.toBe(digest);
  });
});

describe("per-row determinism", () => {
  it("makes patient n the same whatever the dataset size (rows depend on seed and index only)", () => {
    const small = [...generatePatients({ patients: 50 })].flat();
    const large = [...generatePatients({ patients: 5_000, batchSize: 50 })][0];
    expect(large).toEqual(small);
  });
});
