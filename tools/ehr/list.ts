// Parses the comma-separated word lists the built-in data files are written in.

/** Splits `text` on commas (and newlines), trimming each entry and dropping empty ones. */
export function list(text: string): readonly string[] {
  return text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}
