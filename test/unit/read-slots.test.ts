// The bound on concurrent stored-result reads: so many at once, so many in line, the rest refused; slots pass on.

import { expect, it } from "vitest";
import { ReadSlots } from "#shared/http/read-slots.ts";

it("grants its running slots, lines up its waiting ones, refuses the rest, and passes each slot on once", async () => {
  const slots = new ReadSlots(2, 3);
  const first = await slots.acquire();
  const second = await slots.acquire();
  const granted: number[] = [];
  const waiting = [1, 2, 3].map((n) =>
    slots.acquire().then((release) => {
      granted.push(n);
      return release;
    }),
  );
  expect(await slots.acquire()).toBeUndefined();
  first?.();
  first?.(); // a second release gives nothing more back
  const third = await waiting[0];
  await new Promise((resolve) => setImmediate(resolve));
  expect(granted).toEqual([1]);
  second?.();
  third?.();
  const [fourth, fifth] = [await waiting[1], await waiting[2]];
  expect(granted).toEqual([1, 2, 3]);
  fourth?.();
  fifth?.();
  // Everything given back: two run at once again, three wait again.
  const again = await Promise.all([slots.acquire(), slots.acquire()]);
  expect(again.every((r) => r !== undefined)).toBe(true);
  const line = [slots.acquire(), slots.acquire(), slots.acquire()];
  expect(await slots.acquire()).toBeUndefined();
  for (const r of again) r?.();
  const [a, b] = [await line[0], await line[1]];
  a?.();
  b?.();
  (await line[2])?.();
});
