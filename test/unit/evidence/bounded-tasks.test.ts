// A few tasks at a time: never more than the limit in flight, all awaited by drain, the first failure rethrown.

import { describe, expect, it } from "vitest";
import { BoundedTasks } from "#shared/evidence/bounded-tasks.ts";

describe("BoundedTasks", () => {
  it("keeps at most `limit` tasks in flight and waits for all of them in drain", async () => {
    const tasks = new BoundedTasks(3);
    let running = 0;
    let peak = 0;
    let done = 0;
    for (let i = 0; i < 10; i++) {
      await tasks.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        done++;
      });
    }
    await tasks.drain();
    expect(done).toBe(10);
    expect(peak).toBe(3);
  });

  it("rethrows the first failure from drain", async () => {
    const tasks = new BoundedTasks(2);
    await tasks.run(async () => Promise.reject(new Error("first")));
    await tasks.run(async () => Promise.reject(new Error("second")));
    await expect(tasks.drain()).rejects.toThrow("first");
  });
});
