// Day-number calendar arithmetic agrees with the platform's Date for every day it is used on.

import { describe, expect, it } from "vitest";
import { calendarDate, DAY_MS, dayNumber, isoDate, isoTimestamp, REFERENCE_DAY } from "#tools/ehr/dates.ts";

describe("dates", () => {
  it("formats every day from 1900 to 2100 as Date.toISOString does", () => {
    const wrong: number[] = [];
    for (let day = dayNumber(1900, 1, 1); day <= dayNumber(2100, 12, 31); day++) {
      const expected = new Date(day * DAY_MS).toISOString();
      const { year, month, day: dayOfMonth } = calendarDate(day);
      const parts = `${year}-${String(month).padStart(2, "0")}-${String(dayOfMonth).padStart(2, "0")}`;
      if (isoDate(day) !== expected.slice(0, 10) || parts !== expected.slice(0, 10)) wrong.push(day);
    }
    expect(wrong).toEqual([]);
  });

  it("formats timestamps to whole seconds in UTC", () => {
    expect(isoTimestamp(Date.UTC(2024, 1, 29, 23, 59, 58, 999))).toBe("2024-02-29T23:59:58Z");
    expect(isoTimestamp(Date.UTC(1969, 11, 31, 0, 0, 1))).toBe("1969-12-31T00:00:01Z");
    expect(isoDate(REFERENCE_DAY)).toBe("2025-01-01");
  });
});
