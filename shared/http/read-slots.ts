// A bound on how much of one kind of work runs at once, and on how much may wait for it.

/** At most `running` holders at once, at most `waiting` more in line; past both, no slot. */
export class ReadSlots {
  private held = 0;
  private readonly line: (() => void)[] = [];

  constructor(
    private readonly running: number,
    private readonly waiting: number,
  ) {}

  /** A slot's release (call it once; later calls do nothing), or undefined when the line is full. */
  async acquire(): Promise<(() => void) | undefined> {
    if (this.held < this.running) this.held++;
    else {
      if (this.line.length >= this.waiting) return undefined;
      await new Promise<void>((resolve) => this.line.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.line.shift();
      // The slot passes to the next in line, or is given back.
      if (next !== undefined) next();
      else this.held--;
    };
  }
}
