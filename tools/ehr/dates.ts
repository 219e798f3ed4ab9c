// Calendar arithmetic on whole UTC days (integers), so generated dates never depend on the host's time zone.

/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/** The day number (days since 1970-01-01) of a calendar date; `month` is 1-based. */
export function dayNumber(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / DAY_MS;
}

/** The dataset is generated "as of" this day (2025-01-01): ages and encounter windows are relative to it. */
export const REFERENCE_DAY = dayNumber(2025, 1, 1);

/** Year, 1-based month and day of month of a day number (proleptic Gregorian, years 1–9999). */
export function calendarDate(day: number): { year: number; month: number; day: number } {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1_460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day: dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1 };
}

function two(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** `YYYY-MM-DD` of a day number. */
export function isoDate(day: number): string {
  const date = calendarDate(day);
  return `${String(date.year).padStart(4, "0")}-${two(date.month)}-${two(date.day)}`;
}

/** `YYYY-MM-DDTHH:MM:SSZ` of a millisecond timestamp (whole seconds). */
export function isoTimestamp(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  const seconds = Math.floor((ms - day * DAY_MS) / 1000);
  const time = `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
  return `${isoDate(day)}T${time}Z`;
}
