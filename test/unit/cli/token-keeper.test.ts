// TokenKeeper: a refreshable token (GitHub Actions') is fetched again before it expires and after a 401; a fixed one never.

import { describe, expect, it } from "vitest";
import { TokenKeeper } from "#cli/token-keeper.ts";

/** An unsigned JWT-shaped token expiring at `exp` (the keeper reads `exp` without verifying). */
function jwt(exp: number, n: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none" })}.${part({ exp, n })}.sig`;
}

function source(refreshable: boolean, lifetimeSeconds: number, now: () => number) {
  let fetched = 0;
  return {
    refreshable,
    get fetched() {
      return fetched;
    },
    token: async () => jwt(Math.floor(now() / 1000) + lifetimeSeconds, ++fetched),
  };
}

describe("TokenKeeper", () => {
  it("reuses a token until a minute before it expires, then fetches a fresh one", async () => {
    let clock = 1_700_000_000_000;
    const now = () => clock;
    const tokens = source(true, 300, now);
    const keeper = new TokenKeeper(tokens, now);
    const first = await keeper.token();
    clock += 200_000;
    expect(await keeper.token()).toBe(first);
    clock += 50_000;
    expect(await keeper.token()).not.toBe(first);
    expect(tokens.fetched).toBe(2);
  });

  it("renews after a 401 only when the source can give another token", async () => {
    const now = () => 1_700_000_000_000;
    const refreshable = source(true, 300, now);
    const keeper = new TokenKeeper(refreshable, now);
    await keeper.token();
    expect(await keeper.renew()).toBe(true);
    expect(refreshable.fetched).toBe(2);
    const fixed = source(false, 1, now);
    const fixedKeeper = new TokenKeeper(fixed, now);
    await fixedKeeper.token();
    expect(await fixedKeeper.renew()).toBe(false);
    await fixedKeeper.token();
    expect(fixed.fetched).toBe(1);
  });

  it("asks the source once for callers that arrive together", async () => {
    const now = () => 1_700_000_000_000;
    const tokens = source(true, 300, now);
    const keeper = new TokenKeeper(tokens, now);
    const [a, b] = await Promise.all([keeper.token(), keeper.token()]);
    expect(a).toBe(b);
    expect(tokens.fetched).toBe(1);
  });
});
