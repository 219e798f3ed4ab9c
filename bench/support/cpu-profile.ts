// Summarizes a V8 .cpuprofile: self time per function and per area of the gateway (masking, records, pg protocol, …).

/** The parts of a V8 CPU profile the summary reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const FILE_CALLS = new Set([
  "mkdir",
  "lstat",
  "stat",
  "fstat",
  "fdatasync",
  "fsync",
  "close",
  "open",
  "openFileHandle",
  "rename",
  "unlink",
  "readFileUtf8",
  "read",
  "writeString",
  "writeBuffers",
  "readdir",
]);
const WRITE_CALLS = new Set(["writeBuffer", "writev", "writeUtf8String", "writeLatin1String", "write"]);

/** Areas in the order the issue names them, first match wins; the url is the script's file URL or node: name. */
const AREAS: readonly (readonly [string, (url: string, name: string) => boolean])[] = [
  ["GC", (_u, n) => n === "(garbage collector)"],
  ["idle", (_u, n) => n === "(idle)"],
  ["tokenization", (u) => /\/shared\/masking\/(tokenize|hmac-sha256)\.ts/.test(u)],
  ["masking", (u) => /\/shared\/masking\//.test(u) || /\/shared\/sessions\/statement-masking\.ts/.test(u)],
  [
    "records/canonical JSON/digest",
    (u) =>
      /\/shared\/crypto\//.test(u) ||
      /\/shared\/log\//.test(u) ||
      /\/shared\/sessions\/(chain|record|new-record|result-writer|result-format)\.ts/.test(u) ||
      /@noble\/hashes/.test(u) ||
      /node:internal\/crypto/.test(u),
  ],
  ["zod", (u) => /node_modules\/zod\//.test(u)],
  [
    "pg protocol",
    (u) =>
      /node_modules\/(pg|pg-protocol|pg-cursor|pg-types|postgres-[a-z-]+|pgpass)\//.test(u) ||
      /\/infra\/local\/adapters\/pg-executor\.ts/.test(u),
  ],
  ["file stores (local host)", (u) => /\/infra\/local\/adapters\/(file-|atomic-file)/.test(u)],
  ["gzip", (u) => /zlib/.test(u)],
  ["SQL parse (libpg-query)", (u) => /libpg-query/.test(u)],
  ["PGlite", (u) => /@electric-sql\/pglite/.test(u)],
  ["SQL analysis/policy", (u) => /\/shared\/(sql|policy)\//.test(u)],
  [
    "HTTP/JSON",
    (u, n) =>
      /node:(_http|http|net|internal\/http|internal\/streams|stream)/.test(u) ||
      /\/shared\/http\//.test(u) ||
      /\/infra\/local\/server\.ts/.test(u) ||
      (u === "" && (n === "parse" || n === "stringify")),
  ],
  ["query path (other gateway code)", (u) => /\/(shared|infra|functions)\//.test(u)],
  ["file I/O (journal, result store)", (u, n) => u === "" && FILE_CALLS.has(n)],
  ["native writes (socket or file)", (u, n) => u === "" && WRITE_CALLS.has(n)],
  ["(program)", (u, n) => u === "" && n === "(program)"],
  ["native (other)", (u) => u === ""],
  ["node internals", (u) => u.startsWith("node:")],
  ["other packages", () => true],
];

/** The area a function's self time counts under. */
export function areaOf(url: string, functionName: string): string {
  return AREAS.find(([, match]) => match(url, functionName))?.[0] ?? "other packages";
}

/** One function's or area's share of the profile. */
export interface SelfTime {
  readonly name: string;
  readonly area: string;
  readonly selfMs: number;
  readonly pct: number;
}

/** The summary of one profile: busy time (everything but idle), per area and the top functions by self time. */
export interface ProfileSummary {
  readonly label: string;
  readonly wallMs: number;
  readonly busyMs: number;
  readonly units: number;
  readonly unit: string;
  readonly busyMsPerUnit: number;
  readonly areas: readonly SelfTime[];
  readonly top: readonly SelfTime[];
}

const r2 = (v: number): number => Math.round(v * 100) / 100;

/** Self time by function and area; `units` (requests or rows) divides busy time into a cost per unit. */
export function summarizeProfile(
  label: string,
  profile: CpuProfile,
  units: number,
  unit: string,
  topN = 25,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const functions = new Map<string, { area: string; us: number }>();
  const areas = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id);
    if (frame === undefined) continue;
    const area = areaOf(frame.url, frame.functionName);
    if (area === "idle") continue;
    busyUs += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const file = frame.url.replace(/^.*\/(node_modules|shared|infra|functions)\//, "$1/");
    const line = frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : "";
    const where = frame.url === "" ? "" : ` ${file}${line}`;
    const key = `${frame.functionName || "(anonymous)"}${where}`;
    const entry = functions.get(key) ?? { area, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const share = (us: number): number => (busyUs === 0 ? 0 : r2((us / busyUs) * 100));
  return {
    label,
    wallMs: r2((profile.endTime - profile.startTime) / 1000),
    busyMs: r2(busyUs / 1000),
    units,
    unit,
    busyMsPerUnit: units > 0 ? Math.round((busyUs / 1000 / units) * 10_000) / 10_000 : Number.NaN,
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, area: name, selfMs: r2(us / 1000), pct: share(us) })),
    top: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, topN)
      .map(([name, { area, us }]) => ({ name, area, selfMs: r2(us / 1000), pct: share(us) })),
  };
}

/** The markdown tables for docs/performance.md: areas with cost per unit, then the top functions. */
export function profileMarkdown(summary: ProfileSummary, topN = 12): string {
  const perUnit = (ms: number): string =>
    summary.units > 0
      ? summary.unit === "row"
        ? `${r2((ms * 1000) / summary.units)} µs`
        : `${r2(ms / summary.units)} ms`
      : "";
  const lines = [
    `### ${summary.label}`,
    "",
    `${summary.units.toLocaleString("en-US")} ${summary.unit}s; gateway main thread busy ${summary.busyMs} ms of ${summary.wallMs} ms wall = ${perUnit(summary.busyMs)} per ${summary.unit}.`,
    "",
    `| area | self ms | % of busy | per ${summary.unit} |`,
    "|---|---:|---:|---:|",
    ...summary.areas.map((a) => `| ${a.name} | ${a.selfMs} | ${a.pct} | ${perUnit(a.selfMs)} |`),
    "",
    "| top self-time function | area | self ms | % |",
    "|---|---|---:|---:|",
    ...summary.top
      .slice(0, topN)
      .map((f) => `| \`${f.name.replaceAll("|", "\\|")}\` | ${f.area} | ${f.selfMs} | ${f.pct} |`),
    "",
  ];
  return lines.join("\n");
}
