import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildTaskStatusUrl } from '../src/url.js';

const NUM_RUNS = 500;
const ROUTE = '/api/v1/ws/tasks/';
const ROUTE_SEGMENTS = new Set(['api', 'v1', 'ws', 'tasks']);

const SCHEMES = { http: 'ws:', https: 'wss:', ws: 'ws:', wss: 'wss:' } as const;
type Scheme = keyof typeof SCHEMES;

/** Everything a base may already end with, including doubled prefixes. */
const SUFFIXES = [
  '',
  '/api',
  '/api/v1',
  '/api/v1/ws',
  '/api/v1/ws/tasks',
  '/api/api/v1',
  '/api/v1/api/v1',
  '/api/v1/ws/api/v1/ws',
  '/api/v1/api/v1/ws/tasks',
  '/api/v1/ws/api/v1/ws/tasks',
  '/api/v1/ws/tasks/api/v1/ws/tasks',
] as const;

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/);
const host = fc.oneof(
  fc.constantFrom('localhost', '127.0.0.1', '[::1]'),
  fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => [...labels, 'test'].join('.')),
);

/** A mount sub-path segment that cannot be mistaken for part of the route. */
const mountSegment = fc
  .stringMatching(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,11}$/)
  .filter((segment) => !ROUTE_SEGMENTS.has(segment));

const queryKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/).filter((key) => key !== 'token');
const query = fc.array(fc.tuple(queryKey, fc.string({ unit: 'grapheme', maxLength: 8 })), {
  maxLength: 3,
});

/** Characters that break naive query building, mixed with ordinary and non-ASCII ones. */
const trickyChar = fc.constantFrom(
  '+',
  '/',
  '=',
  ' ',
  '&',
  '%',
  '?',
  '#',
  ';',
  'a',
  'Z',
  '9',
  'é',
  '🙂',
);
const token = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    fc.string({ unit: trickyChar, minLength: 1, maxLength: 40 }),
  )
  .filter((value) => value.trim() !== '');

const userId = fc.oneof(
  fc.maxSafeNat(),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((value) => {
    const trimmed = value.trim();
    return (
      trimmed !== '' &&
      trimmed !== '.' &&
      trimmed !== '..' &&
      !/^-\d/.test(trimmed) &&
      !/^\d*\.\d+$/.test(trimmed)
    );
  }),
);

const base = fc.record({
  scheme: fc.constantFrom<Scheme>('http', 'https', 'ws', 'wss'),
  host,
  port: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
  mount: fc.array(mountSegment, { maxLength: 3 }),
  suffix: fc.constantFrom(...SUFFIXES),
  trailingSlash: fc.boolean(),
  query,
  staleToken: fc.boolean(),
  hash: fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/), { nil: undefined }),
});

type Base = typeof base extends fc.Arbitrary<infer T> ? T : never;

function baseUrlOf(parts: Base): string {
  const origin = `${parts.scheme}://${parts.host}${parts.port === undefined ? '' : `:${parts.port}`}`;
  const path = `${parts.mount.map((segment) => `/${segment}`).join('')}${parts.suffix}`;
  const params = new URLSearchParams(parts.query);
  if (parts.staleToken) params.append('token', 'stale');
  const search = params.size > 0 ? `?${params}` : '';
  const hash = parts.hash === undefined ? '' : `#${parts.hash}`;
  return `${origin}${path}${parts.trailingSlash ? '/' : ''}${search}${hash}`;
}

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

describe('buildTaskStatusUrl properties', () => {
  it('puts the route exactly once after the mount path and ends in the encoded user id', () => {
    fc.assert(
      fc.property(base, userId, token, (parts, id, secret) => {
        const result = new URL(
          buildTaskStatusUrl({ baseUrl: baseUrlOf(parts), userId: id, token: secret }),
        );
        const segment = encodeURIComponent(String(id).trim());
        const mountPath = parts.mount.map((part) => `/${part}`).join('');
        expect(occurrences(result.pathname, ROUTE)).toBe(1);
        expect(result.pathname.endsWith(`${ROUTE}${segment}`)).toBe(true);
        expect(result.pathname).toBe(`${mountPath}${ROUTE}${segment}`);
        expect(result.pathname).not.toContain('//');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('maps the scheme to ws or wss and keeps the host and port', () => {
    fc.assert(
      fc.property(base, (parts) => {
        const baseUrl = baseUrlOf(parts);
        const result = new URL(buildTaskStatusUrl({ baseUrl, userId: 2, token: 't' }));
        expect(result.protocol).toBe(SCHEMES[parts.scheme]);
        expect(result.host).toBe(new URL(baseUrl).host);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('keeps the query parameters of the base, replaces a stale token and drops the hash', () => {
    fc.assert(
      fc.property(base, token, (parts, secret) => {
        const result = new URL(
          buildTaskStatusUrl({ baseUrl: baseUrlOf(parts), userId: 2, token: secret }),
        );
        const sent = new URLSearchParams(parts.query);
        for (const key of new Set(sent.keys())) {
          expect(result.searchParams.getAll(key)).toEqual(sent.getAll(key));
        }
        expect(result.searchParams.getAll('token')).toEqual([secret]);
        expect([...result.searchParams.keys()].at(-1)).toBe('token');
        expect(result.hash).toBe('');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('round-trips any token through a standard query parser', () => {
    fc.assert(
      fc.property(token, (secret) => {
        const result = buildTaskStatusUrl({ baseUrl: 'https://h', userId: 2, token: secret });
        expect(new URL(result).searchParams.get('token')).toBe(secret);
        expect(new URLSearchParams(result.slice(result.indexOf('?'))).get('token')).toBe(secret);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('either rejects a user id or token with INVALID_OPTIONS or ends in the encoded user id', () => {
    const anyUserId = fc.oneof(
      fc.string({
        unit: fc.constantFrom('.', ' ', '-', '1', 'a', '/', '%', '\uD800'),
        maxLength: 4,
      }),
      fc.string({ unit: 'grapheme', maxLength: 6 }),
      fc.integer({ min: -5, max: 5 }),
      fc.double(),
    );
    const anyToken = fc.oneof(
      token,
      fc.string({ unit: fc.constantFrom(' ', 'a', '+', '\uDC00', '\uD83D'), maxLength: 4 }),
    );
    fc.assert(
      fc.property(anyUserId, anyToken, (id, secret) => {
        let result: URL;
        try {
          result = new URL(
            buildTaskStatusUrl({ baseUrl: 'https://h/api/v1', userId: id, token: secret }),
          );
        } catch (error) {
          expect(error).toMatchObject({ name: 'TaskStatusError', code: 'INVALID_OPTIONS' });
          return;
        }
        expect(result.pathname).toBe(`${ROUTE}${encodeURIComponent(String(id).trim())}`);
        expect(result.searchParams.get('token')).toBe(secret);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('returns its own output unchanged when given it as the base', () => {
    fc.assert(
      fc.property(base, userId, token, (parts, id, secret) => {
        const once = buildTaskStatusUrl({ baseUrl: baseUrlOf(parts), userId: id, token: secret });
        expect(buildTaskStatusUrl({ baseUrl: once, userId: id, token: secret })).toBe(once);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('buildTaskStatusUrl properties in a browser', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('resolves a relative base like the same path on the page origin', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('http', 'https'),
        host,
        fc.array(mountSegment, { maxLength: 3 }),
        fc.constantFrom(...SUFFIXES),
        fc.boolean(),
        (scheme, hostname, mount, suffix, trailingSlash) => {
          const origin = `${scheme}://${hostname}`;
          vi.stubGlobal('location', { origin, href: `${origin}/some/page?x=1` });
          const path = `${mount.map((part) => `/${part}`).join('')}${suffix}${trailingSlash ? '/' : ''}`;
          const relative = buildTaskStatusUrl({ baseUrl: path, userId: 7, token: 't' });
          const absolute = buildTaskStatusUrl({
            baseUrl: `${origin}${path}`,
            userId: 7,
            token: 't',
          });
          expect(relative).toBe(absolute);
          expect(new URL(relative).protocol).toBe(scheme === 'https' ? 'wss:' : 'ws:');
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
