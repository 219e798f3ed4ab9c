// Typed errors: a lost version race is its own subclass, recognized by its guard, and keeps the contract's wire code.
import { describe, expect, it } from "vitest";
import { ConflictError, isVersionConflict, VersionConflictError } from "#shared/errors.ts";
import { errorResponse } from "#shared/http/error-response.ts";
import { silentLogger } from "#shared/log.ts";

describe("VersionConflictError", () => {
  it("is a 409 version_conflict on the wire, like the ConflictError it extends", async () => {
    const error = new VersionConflictError("the session was changed concurrently");
    expect(error).toBeInstanceOf(ConflictError);
    const response = errorResponse(error, silentLogger);
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({
      error: { code: "version_conflict", message: "the session was changed concurrently" },
    });
  });

  it("is told apart from every other conflict by its guard", () => {
    expect(isVersionConflict(new VersionConflictError("x"))).toBe(true);
    expect(isVersionConflict(new ConflictError("already_decided", "x"))).toBe(false);
    expect(isVersionConflict(new Error("version_conflict"))).toBe(false);
  });
});
