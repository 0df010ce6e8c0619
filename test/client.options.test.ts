import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../src/client/options.js';
import {
  HEARTBEAT_DEFAULTS,
  isTaskStatusError,
  RECONNECT_DEFAULTS,
  TaskStatusClient,
  type TaskStatusClientOptions,
} from '../src/index.js';

const base: TaskStatusClientOptions = { baseUrl: 'http://127.0.0.1:1', userId: 2, token: 'tok' };

function invalid(options: Record<string, unknown>): string {
  try {
    new TaskStatusClient({ ...base, ...options } as TaskStatusClientOptions);
  } catch (error) {
    expect(isTaskStatusError(error, 'INVALID_OPTIONS')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected INVALID_OPTIONS');
}

describe('options', () => {
  it('merges a partial group with the defaults', () => {
    const resolved = resolveOptions({
      ...base,
      reconnect: { maxDelayMs: 5000 },
      heartbeat: { timeoutMs: 3000 },
    });
    expect(resolved.reconnect).toEqual({ ...RECONNECT_DEFAULTS, maxDelayMs: 5000 });
    expect(resolved.heartbeat).toEqual({ ...HEARTBEAT_DEFAULTS, timeoutMs: 3000 });
    expect(resolved.reconnect === false ? undefined : resolved.reconnect.jitter).toBe('full');
  });

  it('lowers the default initialDelayMs to a maxDelayMs set below it', () => {
    const resolved = resolveOptions({ ...base, reconnect: { maxDelayMs: 500 } });
    expect(resolved.reconnect).toEqual({
      ...RECONNECT_DEFAULTS,
      initialDelayMs: 500,
      maxDelayMs: 500,
    });
  });

  it('reads an explicit undefined as an option left out', () => {
    const resolved = resolveOptions({
      ...base,
      signal: undefined,
      heartbeat: undefined,
      reconnect: { maxDelayMs: undefined, jitter: undefined },
      connectTimeoutMs: undefined,
    });
    expect(resolved.heartbeat).toEqual(HEARTBEAT_DEFAULTS);
    expect(resolved.reconnect).toEqual(RECONNECT_DEFAULTS);
    expect(resolved.connectTimeoutMs).toBe(10_000);
    expect(resolved.signal).toBeUndefined();
  });

  it('accepts false to turn heartbeat and reconnect off', () => {
    const resolved = resolveOptions({ ...base, reconnect: false, heartbeat: false });
    expect(resolved.reconnect).toBe(false);
    expect(resolved.heartbeat).toBe(false);
  });

  it.each([
    [{ bogus: 1 }, '"bogus"'],
    [{ reconnect: { maxDelay: 1 } }, '"reconnect.maxDelay"'],
    [{ heartbeat: { interval: 1 } }, '"heartbeat.interval"'],
    [{ connectTimeoutMs: 0 }, '"connectTimeoutMs"'],
    [{ connectTimeoutMs: Number.NaN }, '"connectTimeoutMs"'],
    [{ authGraceMs: -1 }, '"authGraceMs"'],
    // Past 2^31 - 1 ms a timer fires at once: such a value would time out at once.
    [
      { connectTimeoutMs: 2 ** 31 },
      '"connectTimeoutMs": must be a number of ms from 1 to 2147483647',
    ],
    [{ authGraceMs: 2 ** 31 }, '"authGraceMs"'],
    [{ heartbeat: { intervalMs: 2 ** 31 } }, '"heartbeat.intervalMs"'],
    [{ heartbeat: { timeoutMs: 1e10 } }, '"heartbeat.timeoutMs"'],
    [{ reconnect: { initialDelayMs: 2 ** 31, maxDelayMs: 2 ** 31 } }, '"reconnect.initialDelayMs"'],
    [{ reconnect: { maxDelayMs: 1e10 } }, '"reconnect.maxDelayMs"'],
    [{ heartbeat: { intervalMs: '5' } }, '"heartbeat.intervalMs"'],
    [{ heartbeat: { message: '' } }, '"heartbeat.message": must be a non-empty string, got string'],
    [{ heartbeat: { message: 1 } }, '"heartbeat.message": must be a non-empty string, got 1'],
    [{ heartbeat: true }, '"heartbeat"'],
    [{ reconnect: { factor: 0.5 } }, '"reconnect.factor"'],
    [{ reconnect: { maxAttempts: 1.5 } }, '"reconnect.maxAttempts"'],
    [{ reconnect: { jitter: 'half' } }, '"reconnect.jitter"'],
    [{ reconnect: { initialDelayMs: 100, maxDelayMs: 10 } }, '"reconnect.maxDelayMs"'],
    [{ token: '' }, '"token"'],
    [{ token: 42 }, '"token"'],
    [{ userId: -1 }, '"userId"'],
    [{ userId: 1.5 }, '"userId"'],
    [{ userId: null }, '"userId"'],
    [{ baseUrl: 'ftp://host' }, '"baseUrl"'],
    [{ baseUrl: '/relative' }, '"baseUrl"'],
    [{ WebSocket: 'ws' }, '"WebSocket"'],
    [{ signal: {} }, '"signal"'],
    [{ random: 0.5 }, '"random"'],
    [{ taskSchema: {} }, '"taskSchema"'],
    // Names from Object.prototype are unknown options, not rules.
    [{ toString: 1 }, '"toString": is not a known option'],
    [{ heartbeat: { constructor: 1 } }, '"heartbeat.constructor": is not a known option'],
    [JSON.parse('{"__proto__": {}}'), '"__proto__": is not a known option'],
  ])('rejects %j naming the option', (options, name) => {
    expect(invalid(options)).toContain(name);
  });

  it('refuses a static token that cannot go in a URL when it is made, not at connect()', () => {
    const message = invalid({ token: 'tok-\uD800-secret' });
    expect(message).toContain('"token": must be well-formed Unicode');
    expect(message).not.toContain('secret');
  });

  it('never echoes a token in an INVALID_OPTIONS message', () => {
    expect(invalid({ token: 'tok-secret', userId: -5 })).not.toContain('tok-secret');
  });
});
