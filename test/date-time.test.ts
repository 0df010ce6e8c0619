import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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

  it('orders date-times like Date.parse does, whatever their zones and shapes', () => {
    const instant = fc.integer({ min: 0, max: 4_102_444_800_000 });
    const shape = fc.constantFrom('iso', 'offset', 'micro', 'naive-utc');
    const write = (ms: number, kind: string): string => {
      const iso = new Date(ms).toISOString();
      if (kind === 'iso') return iso;
      if (kind === 'micro') return `${iso.slice(0, 23)}456+00:00`;
      if (kind === 'naive-utc') return `${iso.slice(0, 19)}Z`;
      const shifted = new Date(ms + 2 * 3_600_000).toISOString();
      return `${shifted.slice(0, 19)}+02:00`;
    };
    fc.assert(
      fc.property(instant, instant, shape, shape, (x, y, kx, ky) => {
        const a = write(x, kx);
        const b = write(y, ky);
        expect(Math.sign(compareDateTimes(a, b))).toBe(Math.sign(Date.parse(a) - Date.parse(b)));
      }),
      { numRuns: 3000 },
    );
  });

  it('compares naive date-times of one shape as text', () => {
    expect(compareDateTimes('2026-01-01T12:00:01', '2026-01-01T12:00:00')).toBeGreaterThan(0);
    expect(compareDateTimes('2026-01-01T12:00:00', '2026-01-01T12:00:00')).toBe(0);
  });
});
