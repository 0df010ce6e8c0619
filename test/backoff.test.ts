import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECONNECT_DEFAULTS, reconnectDelay } from '../src/index.js';

const policy = { ...RECONNECT_DEFAULTS, initialDelayMs: 100, maxDelayMs: 1000, factor: 2 };

describe('reconnectDelay', () => {
  it('grows exponentially up to the cap without jitter', () => {
    const none = { ...policy, jitter: 'none' as const };
    expect([0, 1, 2, 3, 4, 5].map((n) => reconnectDelay(none, n, Math.random))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('spreads full jitter over [0, cap)', () => {
    expect(reconnectDelay(policy, 3, () => 0)).toBe(0);
    expect(reconnectDelay(policy, 3, () => 0.5)).toBe(400);
    expect(reconnectDelay(policy, 3, () => 0.999)).toBeCloseTo(799.2);
  });

  it('keeps equal jitter in [cap/2, cap)', () => {
    const equal = { ...policy, jitter: 'equal' as const };
    expect(reconnectDelay(equal, 2, () => 0)).toBe(200);
    expect(reconnectDelay(equal, 2, () => 0.5)).toBe(300);
  });

  it('stays within bounds for any attempt and any random value', () => {
    fc.assert(
      fc.property(
        fc.nat(200),
        fc.double({ min: -1, max: 2, noNaN: true }),
        fc.constantFrom('full', 'equal', 'none'),
        (attempt, random, jitter) => {
          const delay = reconnectDelay({ ...policy, jitter }, attempt, () => random);
          const cap = Math.min(1000, 100 * 2 ** attempt);
          expect(delay).toBeGreaterThanOrEqual(jitter === 'equal' ? cap / 2 : 0);
          expect(delay).toBeLessThanOrEqual(cap);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('gives full jitter a uniform spread (mean near cap/2, every decile used)', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const samples = Array.from({ length: 20_000 }, () => reconnectDelay(policy, 10, random));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(mean).toBeGreaterThan(480);
    expect(mean).toBeLessThan(520);
    const deciles = new Array(10).fill(0);
    for (const s of samples) deciles[Math.floor(s / 100)]++;
    for (const count of deciles) expect(count).toBeGreaterThan(1_700);
  });
});
