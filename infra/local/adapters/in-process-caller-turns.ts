// The local host's caller turns: one process serves every request, so a promise chain per caller is the turn.

import type { CallerTurns } from "#shared/ports.ts";

/**
 * Runs tasks one at a time per caller, in arrival order; tasks of other callers are unaffected. Within one process
 * only (the local host is one): a waiting task waits as long as the tasks before it take.
 */
export class InProcessCallerTurns implements CallerTurns {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` once every earlier task of `principal` has settled (the time budget does not bound the wait). */
  async run<T>(principal: string, _budgetMs: number, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(principal) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(principal, tail);
    try {
      await previous;
      return await task();
    } finally {
      release();
      if (this.tails.get(principal) === tail) this.tails.delete(principal);
    }
  }
}
