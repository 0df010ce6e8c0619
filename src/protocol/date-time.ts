/**
 * ISO-8601 date-times as servers write them: `2026-01-01T12:00:00Z`, with optional seconds,
 * fraction and offset (`+02:00`, `+0200`), a space instead of `T` (Python's `str(datetime)`), or
 * no offset at all (a naive `datetime.isoformat()`). Shared by the schema and the fast guard.
 */
export const ISO_DATE_TIME =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?$/;

const SPACE = 32;
const Z = 90;
const PLUS = 43;
const MINUS = 45;

/**
 * Orders two ISO date-times: negative, zero or positive.
 *
 * The hot path compares text, without `Date.parse`: two valid date-times of one length, with the
 * same separator after the date and the same zone designator, are written in one zone and one
 * layout (the length fixes where the seconds and fraction end), so their text order is their
 * time order. Anything else is parsed.
 */
export function compareDateTimes(a: string, b: string): number {
  if (a.length === b.length && a.charCodeAt(10) === b.charCodeAt(10) && sameZone(a, b)) {
    // Newer first: the table asks whether an update is newer than the one it holds, and it
    // mostly is, so one comparison answers.
    return a > b ? 1 : a < b ? -1 : 0;
  }
  return instant(a) - instant(b) || compareSubMillisecond(a, b);
}

/** A fraction's digits past the millisecond (`400` of `…:00.000400+00:00`). */
const SUB_MILLISECOND = /^.{19}\.\d{3}(\d+)/;

/**
 * Orders two date-times of one millisecond by their fractions' further digits, which `Date.parse`
 * does not read: `…:00.000400+00:00` is after `…:00+00:00`.
 */
function compareSubMillisecond(a: string, b: string): number {
  let x = SUB_MILLISECOND.exec(a)?.[1] ?? '';
  let y = SUB_MILLISECOND.exec(b)?.[1] ?? '';
  const length = Math.max(x.length, y.length);
  x = x.padEnd(length, '0');
  y = y.padEnd(length, '0');
  return x > y ? 1 : x < y ? -1 : 0;
}

/**
 * `Date.parse` of a valid date-time, first written in the form every engine reads: `T` after the
 * date (some engines read no space there), and a bare `+hh` offset as `+hh:00` (V8 cannot read
 * it). A value without an offset is read as UTC, as a date alone is: Python's
 * `datetime.utcnow().isoformat()` writes UTC so, and `Date.parse` would take it for the host's
 * local time, which would order it against a value with an offset differently on every host.
 */
export function instant(value: string): number {
  if (value.length <= 10) return Date.parse(value);
  let text = value.charCodeAt(10) === SPACE ? `${value.slice(0, 10)}T${value.slice(11)}` : value;
  const zone = zoneLength(text);
  if (zone === 0) text += 'Z';
  else if (zone === 3) text += ':00';
  return Date.parse(text);
}

/**
 * Whether two valid date-times of one length carry the same zone designator. A valid value has
 * at most one sign past the date, so when `a`'s designator (its sign included) is also the end
 * of `b`, it is all of `b`'s designator too; only two values without one need both looked at.
 */
function sameZone(a: string, b: string): boolean {
  const zone = zoneLength(a);
  if (zone === 0) return zoneLength(b) === 0;
  for (let i = a.length - zone; i < a.length; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Length of a date-time's zone designator: 1 for `Z`, 6 for `+hh:mm`, 5 for `+hhmm`, 3 for `+hh`,
 * 0 for none. Past the date (index 10) a plus or minus can only be the zone's sign, and each form
 * puts it at its own distance from the end.
 */
function zoneLength(value: string): number {
  const end = value.length;
  if (value.charCodeAt(end - 1) === Z) return 1;
  if (isSign(value.charCodeAt(end - 6))) return 6;
  if (isSign(value.charCodeAt(end - 5))) return 5;
  if (isSign(value.charCodeAt(end - 3))) return 3;
  return 0;
}

function isSign(code: number): boolean {
  return code === PLUS || code === MINUS;
}
