// One-at-a-time admission per caller within a process: a caller's windowed reads are decided, run and recorded in turn.

/**
 * Runs tasks one at a time per key, in arrival order; tasks of other keys are unaffected. Within one process only
 * (the local host); a host of many processes needs a shared reservation instead (docs/policy.md).
 */
export class PrincipalTurns {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` once every earlier task of `key` has settled. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await previous;
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** The process's turns: every request of one caller in this process shares them. */
export const principalTurns = new PrincipalTurns();
