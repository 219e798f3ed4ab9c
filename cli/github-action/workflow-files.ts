// GitHub Actions' workflow commands and files: step outputs, job environment, the step summary, masked values.

import { randomBytes } from "node:crypto";
import { appendFile } from "node:fs/promises";

/** The runner's files a step writes (absent outside Actions: then nothing is written). */
export interface WorkflowFiles {
  readonly output?: string;
  readonly env?: string;
  readonly summary?: string;
}

/** The files named by `GITHUB_OUTPUT`, `GITHUB_ENV` and `GITHUB_STEP_SUMMARY`. */
export function workflowFiles(env: NodeJS.ProcessEnv): WorkflowFiles {
  return {
    ...(env.GITHUB_OUTPUT ? { output: env.GITHUB_OUTPUT } : {}),
    ...(env.GITHUB_ENV ? { env: env.GITHUB_ENV } : {}),
    ...(env.GITHUB_STEP_SUMMARY ? { summary: env.GITHUB_STEP_SUMMARY } : {}),
  };
}

/** `name<<delimiter` lines: safe for any value (a random delimiter that the value cannot contain). */
function entries(values: Readonly<Record<string, string>>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      let delimiter = `phigate_${randomBytes(8).toString("hex")}`;
      while (value.includes(delimiter)) delimiter = `phigate_${randomBytes(8).toString("hex")}`;
      return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
    })
    .join("");
}

/** Sets step outputs. */
export async function setOutputs(
  files: WorkflowFiles,
  values: Readonly<Record<string, string>>,
): Promise<void> {
  if (files.output !== undefined) await appendFile(files.output, entries(values));
}

/** Sets environment variables for the job's later steps. */
export async function exportEnv(
  files: WorkflowFiles,
  values: Readonly<Record<string, string>>,
): Promise<void> {
  if (files.env !== undefined) await appendFile(files.env, entries(values));
}

/** Appends Markdown to the step summary. */
export async function appendSummary(files: WorkflowFiles, markdown: string): Promise<void> {
  if (files.summary !== undefined) await appendFile(files.summary, markdown);
}

/** A workflow command line (`::error::`, `::notice::`, `::add-mask::`) with its data escaped as the runner expects. */
export function command(name: "error" | "notice" | "warning" | "add-mask", message: string): string {
  const data = message.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  return `::${name}::${data}\n`;
}
