// Prints the markdown tables for docs/performance.md from a `bench:profile` summary: `npx tsx bench/profile-table.ts [summary.json]`
// (re-summarized from the .cpuprofile files beside it when present, so the current area rules apply).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  type CpuProfile,
  type ProfileSummary,
  profileMarkdown,
  summarizeProfile,
} from "./support/cpu-profile.ts";

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
const current = summaries.map((s, i) => {
  const raw = join(dirname(file), `gateway-${i + 1}.cpuprofile`);
  if (!existsSync(raw)) return s;
  const profile = JSON.parse(readFileSync(raw, "utf8")) as CpuProfile;
  return summarizeProfile(s.label, profile, s.units, s.unit);
});
process.stdout.write(
  `Profile taken ${takenAt}, load average ${loadAverage.map((v) => v.toFixed(1)).join(" / ")}.\n\n${current.map((s) => profileMarkdown(s)).join("\n")}`,
);
