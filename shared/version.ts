// The product's name and version as package.json states them (evidence bundles cite their generator).

import packageJson from "../package.json" with { type: "json" };

/** Name and version of this build. */
export const GENERATOR: { readonly name: string; readonly version: string } = {
  name: packageJson.name,
  version: packageJson.version,
};
