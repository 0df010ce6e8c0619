/**
 * ISO-8601 date-times as servers write them: `2026-01-01T12:00:00Z`, with optional seconds,
 * fraction and offset (`+02:00`, `+0200`), a space instead of `T` (Python's `str(datetime)`), or
 * no offset at all (a naive `datetime.isoformat()`). Shared by the schema and the fast guard.
 */
export const ISO_DATE_TIME =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?$/;

const Z = 90;
const PLUS = 43;
const MINUS = 45;

/**
 * Orders two ISO date-times: negative, zero or positive; NaN when either is unreadable. Strings
 * of one shape and zone compare as text (the hot path: no `Date.parse`); others are parsed.
 */
export function compareDateTimes(a: string, b: string): number {
  if (a.length === b.length && sameZone(a, b)) return a < b ? -1 : a > b ? 1 : 0;
  return Date.parse(a) - Date.parse(b);
}

function sameZone(a: string, b: string): boolean {
  const start = zoneStart(a);
  if (start !== zoneStart(b)) return false;
  for (let i = start; i < a.length; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
  return true;
}

/** Index where the zone designator (`Z`, `+hh:mm`, `-hhmm`) begins; the length if there is none. */
function zoneStart(value: string): number {
  const end = value.length - 1;
  if (value.charCodeAt(end) === Z) return end;
  // Past the date (index 10) only the zone sign can be a plus or minus.
  for (let i = end; i > 10; i--) {
    const code = value.charCodeAt(i);
    if (code === PLUS || code === MINUS) return i;
  }
  return value.length;
}
