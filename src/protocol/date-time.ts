/**
 * ISO-8601 date-times as servers write them: `2026-01-01T12:00:00Z`, with optional seconds,
 * fraction and offset (`+02:00`, `+0200`), a space instead of `T` (Python's `str(datetime)`), or
 * no offset at all (a naive `datetime.isoformat()`). Shared by the schema and the fast guard.
 */
export const ISO_DATE_TIME =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?$/;

/** Longest zone designator (`+hh:mm`); any `Z`, `+` or `-` past the date is part of the zone. */
const ZONE_MAX = 6;

/**
 * Orders two ISO date-times: negative, zero or positive; NaN when either is unreadable.
 *
 * The hot path compares text, without `Date.parse`: two valid date-times of one length, with the
 * same separator after the date and the same last six characters, are written in one zone and
 * one layout (the zone fits in those six characters, and the length then fixes the layout), so
 * their text order is their time order. Anything else is parsed.
 */
export function compareDateTimes(a: string, b: string): number {
  if (
    a.length === b.length &&
    a.charCodeAt(10) === b.charCodeAt(10) &&
    a.slice(-ZONE_MAX) === b.slice(-ZONE_MAX)
  ) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return Date.parse(a) - Date.parse(b);
}
