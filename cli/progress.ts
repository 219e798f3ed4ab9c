// A download progress indicator on stderr: a redrawn bar on a terminal, occasional plain lines otherwise.

/** Where progress goes (process.stderr in the CLI). */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/**
 * Reports bytes and rows of a download. On a TTY it redraws one line at most ten times a second; elsewhere it
 * prints a plain line at most every `plainEverySeconds` and always once at the end.
 */
export class DownloadProgress {
  private bytes = 0;
  private rows = 0;
  private lastDraw = 0;
  private readonly started = performance.now();

  constructor(
    private readonly out: ProgressOutput,
    private readonly totalBytes: number | undefined,
    private readonly plainEverySeconds = 5,
  ) {}

  /** Counts downloaded (compressed) bytes. */
  addBytes(count: number): void {
    this.bytes += count;
    this.maybeDraw();
  }

  /** Counts decoded rows. */
  addRows(count: number): void {
    this.rows += count;
    this.maybeDraw();
  }

  /** Prints the final line. */
  done(): void {
    const seconds = (performance.now() - this.started) / 1000;
    const line = `downloaded ${mib(this.bytes)}, ${this.rows.toLocaleString("en-US")} rows in ${seconds.toFixed(1)} s`;
    this.out.write(this.out.isTTY === true ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  private maybeDraw(): void {
    const now = performance.now();
    const every = this.out.isTTY === true ? 100 : this.plainEverySeconds * 1000;
    if (now - this.lastDraw < every) return;
    this.lastDraw = now;
    const rows = `${this.rows.toLocaleString("en-US")} rows`;
    if (this.out.isTTY !== true) {
      this.out.write(`downloading: ${mib(this.bytes)}, ${rows}\n`);
      return;
    }
    const total = this.totalBytes;
    if (total === undefined || total <= 0) {
      this.out.write(`\r\x1b[2K${mib(this.bytes)} · ${rows}`);
      return;
    }
    const ratio = Math.min(1, this.bytes / total);
    const width = 30;
    const filled = Math.round(ratio * width);
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    this.out.write(
      `\r\x1b[2K${bar} ${(ratio * 100).toFixed(0).padStart(3)}% ${mib(this.bytes)}/${mib(total)} · ${rows}`,
    );
  }
}
