import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { compareDateTimes, ISO_DATE_TIME } from '../src/protocol/date-time.js';

describe('ISO date-times', () => {
  it.each([
    '2026-01-01T12:00:00Z',
    '2026-01-01T12:00:00.123Z',
    '2026-01-01T12:00:00.123456+00:00',
    '2026-01-01T12:00:00+0200',
    '2026-01-01T12:00:00-05:00',
    '2026-01-01T12:00',
    '2026-01-01 12:00:00',
    '2026-01-01T12:00:00.5',
    '2026-01-01',
  ])('accepts %s', (value) => {
    expect(ISO_DATE_TIME.test(value)).toBe(true);
    expect(Number.isNaN(Date.parse(value))).toBe(false);
  });

  it.each([
    '',
    'yesterday',
    '1',
    '2026-1-1',
    '2026-01-01T',
    '2026-01-01T12',
    '12:00:00',
    '2026-01-01T12:00:00ZZ',
  ])('rejects %j', (value) => {
    expect(ISO_DATE_TIME.test(value)).toBe(false);
  });

  it('orders date-times by the instant they name, whatever their zones and shapes', () => {
    const instant = fc.integer({ min: 0, max: 4_102_444_800_000 });
    const SHAPES = [
      'iso',
      'offset',
      'offset-compact',
      'offset-hours',
      'space-minutes-offset-hours',
      'negative-offset',
      'micro',
      'naive-utc',
      'naive',
      'naive-micro',
      'space',
      'seconds',
      'minutes',
      'tenths',
    ] as const;
    const shape = fc.constantFrom(...SHAPES);
    const write = (ms: number, kind: (typeof SHAPES)[number]): string => {
      const iso = new Date(ms).toISOString();
      const plus2 = new Date(ms + 2 * 3_600_000).toISOString();
      const minus5 = new Date(ms - 5.5 * 3_600_000).toISOString();
      switch (kind) {
        case 'iso':
          return iso;
        case 'micro':
          return `${iso.slice(0, 23)}456+00:00`;
        case 'naive-utc':
          return `${iso.slice(0, 19)}Z`;
        case 'naive':
          return iso.slice(0, 23);
        case 'naive-micro':
          return `${iso.slice(0, 23)}456`;
        case 'offset':
          return `${plus2.slice(0, 19)}+02:00`;
        case 'offset-compact':
          return `${plus2.slice(0, 19)}+0200`;
        case 'offset-hours':
          return `${plus2.slice(0, 23)}+02`;
        case 'space-minutes-offset-hours':
          return `${plus2.slice(0, 10)} ${plus2.slice(11, 16)}+02`;
        case 'negative-offset':
          return `${minus5.slice(0, 23)}-05:30`;
        case 'space':
          return `${iso.slice(0, 10)} ${iso.slice(11, 19)}+00:00`;
        case 'seconds':
          return `${iso.slice(0, 19)}+00:00`;
        case 'minutes':
          return `${iso.slice(0, 16)}Z`;
        case 'tenths':
          return `${iso.slice(0, 21)}+00:00`;
      }
    };
    /** The instant a written date-time names, in µs: `ms` cut to the shape's precision. */
    const named = (ms: number, kind: (typeof SHAPES)[number]): number => {
      const cut = (unit: number) => Math.floor(ms / unit) * unit * 1000;
      switch (kind) {
        case 'naive-utc':
        case 'offset':
        case 'offset-compact':
        case 'space':
        case 'seconds':
          return cut(1_000);
        case 'minutes':
        case 'space-minutes-offset-hours':
          return cut(60_000);
        case 'tenths':
          return cut(100);
        case 'micro':
        case 'naive-micro':
          return ms * 1000 + 456;
        default:
          return ms * 1000;
      }
    };
    fc.assert(
      fc.property(instant, instant, shape, shape, (x, y, kx, ky) => {
        const a = write(x, kx);
        const b = write(y, ky);
        expect(ISO_DATE_TIME.test(a) && ISO_DATE_TIME.test(b)).toBe(true);
        // Never NaN: a bare `+02`, which V8's Date.parse cannot read, is ordered too.
        expect(Math.sign(compareDateTimes(a, b))).toBe(Math.sign(named(x, kx) - named(y, ky)));
      }),
      { numRuns: 5000 },
    );
  });

  it('compares close instants of one shape by their text, to the last digit', () => {
    const base = Date.parse('2026-06-01T10:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 0, max: 999_999 }),
        (x, y) => {
          const write = (micros: number) =>
            `${new Date(base + Math.floor(micros / 1000)).toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}+00:00`;
          expect(Math.sign(compareDateTimes(write(x), write(y)))).toBe(Math.sign(x - y));
        },
      ),
    );
  });

  it.each([
    // Python's isoformat() leaves out a fraction of 0 µs, so one server writes both shapes.
    ['2026-01-01T12:30:00.000400+00:00', '2026-01-01T12:30:00+00:00'],
    // isoformat() beside pydantic's `Z`.
    ['2026-01-01T12:30:00.123900+00:00', '2026-01-01T12:30:00.123100Z'],
    ['2026-01-01T14:30:00.1239+02:00', '2026-01-01 12:30:00.123100'],
    ['2026-01-01T12:30:00.0000001Z', '2026-01-01T12:30:00+00:00'],
  ])('orders %s after %s in another shape, within the same millisecond', (later, earlier) => {
    expect(compareDateTimes(later, earlier)).toBeGreaterThan(0);
    expect(compareDateTimes(earlier, later)).toBeLessThan(0);
    expect(compareDateTimes(later, later.replace('T', ' '))).toBe(0);
  });

  it('reads no digit of the offset as part of a short fraction', () => {
    expect(compareDateTimes('2026-01-01T14:30:00.5+02:00', '2026-01-01T12:30:00.500Z')).toBe(0);
    expect(compareDateTimes('2026-01-01T14:30:00.12+0230', '2026-01-01T12:00:00.120Z')).toBe(0);
  });

  it('orders +hh offsets, which Date.parse cannot read, written alike or not', () => {
    expect(Number.isNaN(Date.parse('2026-01-01T12:00:00.001+02'))).toBe(true);
    expect(compareDateTimes('2026-01-01T12:00:00.001+02', '2026-01-01T12:00:00.002+02')).toBe(-1);
    expect(compareDateTimes('2026-01-01T12:00:01+02', '2026-01-01T12:00:00+02')).toBe(1);
    expect(compareDateTimes('2026-01-01T12:00:00.5+02', '2026-01-01T10:00:00Z')).toBe(500);
    expect(compareDateTimes('2026-01-01 12:00+02', '2026-01-01T11:00:00+01:00')).toBe(0);
  });

  it('compares naive date-times of one shape as text', () => {
    expect(compareDateTimes('2026-01-01T12:00:01', '2026-01-01T12:00:00')).toBeGreaterThan(0);
    expect(compareDateTimes('2026-01-01T12:00:00', '2026-01-01T12:00:00')).toBe(0);
  });

  it.each(['UTC', 'America/New_York', 'Asia/Tokyo'])(
    'reads a naive date-time as UTC against one with an offset, with the host in %s',
    (zone) => {
      // Node reads a new TZ at once, in this worker too.
      vi.stubEnv('TZ', zone);
      try {
        // `datetime.utcnow().isoformat()` beside `datetime.now(timezone.utc).isoformat()`.
        expect(
          compareDateTimes('2024-05-01T12:00:01.000000+00:00', '2024-05-01T12:00:00.500000'),
        ).toBe(500);
        expect(compareDateTimes('2024-05-01T12:00:01', '2024-05-01T12:00:00.500000+00:00')).toBe(
          500,
        );
        expect(compareDateTimes('2024-05-01 14:00:00+02:00', '2024-05-01T12:00')).toBe(0);
      } finally {
        vi.unstubAllEnvs();
      }
    },
  );
});
