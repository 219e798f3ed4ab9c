// Prints the markdown tables for docs/performance.md from a `bench:profile` summary: `npx tsx bench/profile-table.ts [summary.json]`.

import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type ProfileSummary, profileMarkdown } from "./support/cpu-profile.ts";

function latest(): string {
  const dir = resolve("bench/profiles");
  const runs = readdirSync(dir).sort();
  const last = runs.at(-1);
  if (last === undefined)
    throw new Error("no profile under bench/profiles: run `npm run bench:profile` first");
  return join(dir, last, "summary.json");
}

const file = process.argv[2] ?? latest();
const { takenAt, loadAverage, summaries } = JSON.parse(readFileSync(file, "utf8")) as {
  takenAt: string;
  loadAverage: number[];
  summaries: ProfileSummary[];
};
process.stdout.write(
  `Profile taken ${takenAt}, load average ${loadAverage.map((v) => v.toFixed(1)).join(" / ")}.\n\n${summaries.map((s) => profileMarkdown(s)).join("\n")}`,
);
