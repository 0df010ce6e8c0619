import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTaskStatusError, type TaskStatusError } from '../src/errors.js';
import {
  buildTaskStatusUrl,
  DEFAULT_TASK_STATUS_PATH,
  redactUrl,
  type TaskStatusUrlOptions,
} from '../src/url.js';

const TOKEN = 'tok';
const SECRET = 'SECRET-TOKEN-8f3a';

function build(baseUrl: string, extra: Partial<TaskStatusUrlOptions> = {}): string {
  return buildTaskStatusUrl({ baseUrl, userId: 2, token: TOKEN, ...extra });
}

/** Runs `fn`, expects it to throw a TaskStatusError, and returns that error. */
function thrown(fn: () => unknown): TaskStatusError {
  try {
    fn();
  } catch (error) {
    expect(isTaskStatusError(error)).toBe(true);
    return error as TaskStatusError;
  }
  throw new Error('expected the call to throw');
}

/** Calls the builder with deliberately ill-typed options, as plain JavaScript callers can. */
function buildLoose(options: Record<string, unknown>): string {
  return buildTaskStatusUrl(options as unknown as TaskStatusUrlOptions);
}

describe('buildTaskStatusUrl with an absolute baseUrl', () => {
  it.each([
    ['http', 'http://api.example.com', 'ws://api.example.com/api/v1/ws/tasks/2?token=tok'],
    ['https', 'https://api.example.com', 'wss://api.example.com/api/v1/ws/tasks/2?token=tok'],
    ['ws', 'ws://api.example.com', 'ws://api.example.com/api/v1/ws/tasks/2?token=tok'],
    ['wss', 'wss://api.example.com', 'wss://api.example.com/api/v1/ws/tasks/2?token=tok'],
    [
      'https with a trailing slash',
      'https://api.example.com/',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'ws with a trailing slash',
      'ws://api.example.com/',
      'ws://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'upper-case scheme and host',
      'HTTPS://API.Example.COM',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'surrounding whitespace',
      '  https://api.example.com  ',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'an explicit port',
      'http://127.0.0.1:8000',
      'ws://127.0.0.1:8000/api/v1/ws/tasks/2?token=tok',
    ],
    ['an IPv6 host', 'http://[::1]:8000', 'ws://[::1]:8000/api/v1/ws/tasks/2?token=tok'],
    [
      'the default http port',
      'http://api.example.com:80',
      'ws://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a non-default https port',
      'https://api.example.com:8443',
      'wss://api.example.com:8443/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a base ending in /api',
      'https://api.example.com/api',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a base ending in /api/v1',
      'https://api.example.com/api/v1',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a base ending in /api/v1/',
      'https://api.example.com/api/v1/',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a base ending in /api/v1/ws',
      'https://api.example.com/api/v1/ws',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a base ending in /api/v1/ws/',
      'wss://api.example.com/api/v1/ws/',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a base ending in /api/v1/ws/tasks',
      'https://api.example.com/api/v1/ws/tasks',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a base ending in /api/v1/ws/tasks/',
      'http://api.example.com/api/v1/ws/tasks/',
      'ws://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a base that is already the full route',
      'https://api.example.com/api/v1/ws/tasks/2',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'doubled slashes in the base path',
      'https://api.example.com//api//v1//',
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a mount sub-path',
      'https://example.com/tasks-svc',
      'wss://example.com/tasks-svc/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a mount sub-path with a trailing slash',
      'https://example.com/tasks-svc/',
      'wss://example.com/tasks-svc/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a mount sub-path ending in /api/v1',
      'https://example.com/tasks-svc/api/v1',
      'wss://example.com/tasks-svc/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'a deep mount sub-path ending in /api/v1/ws',
      'http://example.com/a/b/c/api/v1/ws',
      'ws://example.com/a/b/c/api/v1/ws/tasks/2?token=tok',
    ],
  ])('handles %s', (_name, baseUrl, expected) => {
    expect(build(baseUrl)).toBe(expected);
  });

  it('uses the default route template', () => {
    expect(DEFAULT_TASK_STATUS_PATH).toBe('/api/v1/ws/tasks/{userId}');
  });
});

describe('buildTaskStatusUrl with query parameters and a hash', () => {
  it.each([
    [
      'keeps one parameter',
      'https://h/api/v1?region=eu',
      'wss://h/api/v1/ws/tasks/2?region=eu&token=tok',
    ],
    [
      'keeps several parameters in order',
      'https://h?a=1&b=2',
      'wss://h/api/v1/ws/tasks/2?a=1&b=2&token=tok',
    ],
    [
      'replaces an existing token parameter',
      'https://h/?token=old&a=1',
      'wss://h/api/v1/ws/tasks/2?a=1&token=tok',
    ],
    [
      'replaces every existing token parameter',
      'https://h/?token=old&token=older',
      'wss://h/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'keeps a parameter whose name only differs in case',
      'https://h/?TOKEN=x',
      'wss://h/api/v1/ws/tasks/2?TOKEN=x&token=tok',
    ],
    ['drops the hash', 'https://h/api/v1#section', 'wss://h/api/v1/ws/tasks/2?token=tok'],
    [
      'drops the hash and keeps the query',
      'https://h/api/v1?region=eu#section',
      'wss://h/api/v1/ws/tasks/2?region=eu&token=tok',
    ],
  ])('%s', (_name, baseUrl, expected) => {
    expect(build(baseUrl)).toBe(expected);
  });

  it('keeps the values of encoded parameters', () => {
    const url = new URL(build('https://h/?a=b%20c&d=e%2Bf&e=%C3%A9'));
    expect(url.searchParams.get('a')).toBe('b c');
    expect(url.searchParams.get('d')).toBe('e+f');
    expect(url.searchParams.get('e')).toBe('é');
    expect(url.searchParams.get('token')).toBe(TOKEN);
  });
});

describe('buildTaskStatusUrl and the routes such backends have registered', () => {
  it.each([
    ['the correct route', 'https://h/api/v1/ws/tasks'],
    ['the correct route with the user id', 'https://h/api/v1/ws/tasks/2'],
    ['a doubled /api/v1 prefix', 'https://h/api/v1/api/v1/ws/tasks'],
    ['a doubled /api/v1 prefix with the user id', 'https://h/api/v1/api/v1/ws/tasks/2'],
    ['a doubled /api/v1/ws prefix', 'https://h/api/v1/ws/api/v1/ws/tasks'],
    ['a doubled /api/v1/ws prefix with the user id', 'https://h/api/v1/ws/api/v1/ws/tasks/2'],
    ['a doubled prefix that stops at /api/v1', 'https://h/api/v1/api/v1'],
    ['a doubled prefix that stops at /api/v1/ws', 'https://h/api/v1/ws/api/v1/ws'],
  ])('collapses a base holding %s to the canonical route', (_name, baseUrl) => {
    expect(build(baseUrl)).toBe('wss://h/api/v1/ws/tasks/2?token=tok');
  });

  it('treats a base ending in /tasks as a mount sub-path, not as the route', () => {
    expect(build('https://h/tasks')).toBe('wss://h/tasks/api/v1/ws/tasks/2?token=tok');
  });

  it.each([
    ['https://h/api/v1/ws/tasks/3', undefined, '/api/v1/ws/tasks/3'],
    ['https://h/svc/api/v1/ws/tasks/3/', undefined, '/api/v1/ws/tasks/3'],
    ['https://h/tasks/7', '/tasks/{user_id}', '/tasks/7'],
  ])('refuses %s, the route of another user, instead of doubling it', (baseUrl, path, part) => {
    const error = thrown(() => build(baseUrl, path === undefined ? {} : { path }));
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain('"baseUrl"');
    expect(error.message).toContain(`another user's task route, "${part}": remove it`);
  });

  it('takes any base as a mount path for a template of placeholders alone', () => {
    expect(build('https://h/ws/tasks', { path: '/{userId}' })).toBe('wss://h/ws/tasks/2?token=tok');
  });

  it.each([
    ['/api/v1/ws/tasks/{user_id}', 'wss://h/api/v1/ws/tasks/2?token=tok'],
    ['/tasks/{user_id}', 'wss://h/tasks/2?token=tok'],
    ['/api/v1/api/v1/ws/tasks/{user_id}', 'wss://h/api/v1/api/v1/ws/tasks/2?token=tok'],
    ['/api/v1/ws/api/v1/ws/tasks/{user_id}', 'wss://h/api/v1/ws/api/v1/ws/tasks/2?token=tok'],
  ])('reaches the route %s exactly when it is given as path', (path, expected) => {
    expect(build('https://h', { path })).toBe(expected);
    expect(build('https://h/', { path })).toBe(expected);
  });
});

describe('buildTaskStatusUrl with a path override', () => {
  it.each([
    ['/ws/{userId}', 'https://h', 'wss://h/ws/2?token=tok'],
    ['ws/{userId}/stream', 'https://h', 'wss://h/ws/2/stream?token=tok'],
    ['/ws/user-{userId}', 'https://h', 'wss://h/ws/user-2?token=tok'],
    ['/ws/{user_id}.{userId}', 'https://h', 'wss://h/ws/2.2?token=tok'],
    ['/tasks/{user_id}', 'https://h/api/v1', 'wss://h/api/v1/tasks/2?token=tok'],
    ['/api/v1/ws/tasks/{userId}', 'https://h/api/v1', 'wss://h/api/v1/ws/tasks/2?token=tok'],
    [
      '/ws/{userId}',
      'https://example.com/tasks-svc/',
      'wss://example.com/tasks-svc/ws/2?token=tok',
    ],
  ])('builds %s on %s', (path, baseUrl, expected) => {
    expect(build(baseUrl, { path })).toBe(expected);
  });

  it.each(['/ws/{userId}?version=2', '/ws/{userId}#live', 'https://other.example.com/ws/{userId}'])(
    'refuses %j, which is more than a route',
    (path) => {
      const error = thrown(() => build('https://h', { path }));
      expect(error.code).toBe('INVALID_OPTIONS');
      expect(error.message).toBe(
        'Invalid option "path": must be a non-empty route template such as "/api/v1/ws/tasks/{userId}" (host and query go on baseUrl)',
      );
    },
  );
});

describe('buildTaskStatusUrl encodings', () => {
  it.each<[string | number, string]>([
    [0, '0'],
    [2, '2'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    ['007', '007'],
    ['  7 ', '7'],
    ['John Doe', 'John%20Doe'],
    ['josé', 'jos%C3%A9'],
    ['用户', '%E7%94%A8%E6%88%B7'],
    ['🙂', '%F0%9F%99%82'],
    ['a/b', 'a%2Fb'],
    ['a?b#c', 'a%3Fb%23c'],
    ['%2e%2e', '%252e%252e'],
    ['user@example.com', 'user%40example.com'],
  ])('encodes the user id %j as the last path segment %s', (userId, segment) => {
    const result = build('https://h', { userId });
    const url = new URL(result);
    expect(url.pathname).toBe(`/api/v1/ws/tasks/${segment}`);
    expect(decodeURIComponent(url.pathname.split('/').at(-1) ?? '')).toBe(String(userId).trim());
  });

  it.each([
    'a+b/c=',
    'with space',
    'a&b=c',
    'x?y#z',
    ' leading and trailing ',
    '%20already%2Bencoded',
    'jwt.eyJzdWIiOiIyIn0+/=.sig-_',
    'ünïcödé-🙂',
  ])('round-trips the token %j through URLSearchParams', (token) => {
    const result = build('https://h/?a=1', { token });
    expect(new URL(result).searchParams.get('token')).toBe(token);
    expect(new URLSearchParams(new URL(result).search).get('token')).toBe(token);
    expect(new URL(result).searchParams.get('a')).toBe('1');
  });

  it('percent-encodes +, /, = and spaces in the token', () => {
    expect(build('https://h', { token: 'a+b/c= d&e' })).toBe(
      'wss://h/api/v1/ws/tasks/2?token=a%2Bb%2Fc%3D%20d%26e',
    );
  });
});

describe('buildTaskStatusUrl in a browser', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  function stubLocation(href: string): void {
    const url = new URL(href);
    vi.stubGlobal('location', {
      href: url.href,
      origin: url.origin,
      protocol: url.protocol,
      host: url.host,
      pathname: url.pathname,
    });
  }

  it.each([
    [
      'https://app.example.com/dashboard/tasks?tab=1',
      '',
      'wss://app.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'https://app.example.com/dashboard/tasks',
      '/',
      'wss://app.example.com/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'https://app.example.com/',
      '/backend',
      'wss://app.example.com/backend/api/v1/ws/tasks/2?token=tok',
    ],
    [
      'https://app.example.com/',
      '/backend/',
      'wss://app.example.com/backend/api/v1/ws/tasks/2?token=tok',
    ],
    ['https://app.example.com/', '/api/v1', 'wss://app.example.com/api/v1/ws/tasks/2?token=tok'],
    [
      'https://app.example.com/',
      '/backend?region=eu',
      'wss://app.example.com/backend/api/v1/ws/tasks/2?region=eu&token=tok',
    ],
    ['http://localhost:5173/', '', 'ws://localhost:5173/api/v1/ws/tasks/2?token=tok'],
    [
      'http://localhost:5173/',
      '/api/v1/api/v1/ws',
      'ws://localhost:5173/api/v1/ws/tasks/2?token=tok',
    ],
  ])('resolves against %s the relative base %j', (href, baseUrl, expected) => {
    stubLocation(href);
    expect(build(baseUrl)).toBe(expected);
  });

  it('keeps an absolute base as given, whatever the location', () => {
    stubLocation('http://localhost:5173/');
    expect(build('https://api.example.com')).toBe(
      'wss://api.example.com/api/v1/ws/tasks/2?token=tok',
    );
  });

  it('rejects a relative base when the page has an opaque origin', () => {
    vi.stubGlobal('location', { href: 'file:///index.html', origin: 'null' });
    const error = thrown(() => build('/backend'));
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain('"baseUrl"');
  });

  it('leaves no location behind after restoring the globals', () => {
    stubLocation('https://app.example.com/');
    vi.unstubAllGlobals();
    expect((globalThis as { location?: unknown }).location).toBeUndefined();
  });
});

describe('buildTaskStatusUrl in Node without a location', () => {
  it.each(['', '/', '/backend', 'api.example.com/api/v1'])(
    'rejects the relative base %j and says why',
    (baseUrl) => {
      const error = thrown(() => build(baseUrl));
      expect(error.code).toBe('INVALID_OPTIONS');
      expect(error.message).toContain('"baseUrl"');
      expect(error.message).toContain('relative');
      expect(error.message).toContain('absolute URL');
    },
  );
});

const valid = { baseUrl: 'https://api.example.com', userId: 2, token: SECRET };

const badInputs: [string, Record<string, unknown>, string, string][] = [
  ['an empty token', { token: '' }, 'token', 'must not be empty'],
  ['a blank token', { token: '   ' }, 'token', 'must not be empty'],
  ['a missing token', { token: undefined }, 'token', 'must be a string'],
  ['a null token', { token: null }, 'token', 'must be a string'],
  ['a numeric token', { token: 8_675_309 }, 'token', 'must be a string'],
  ['a token with a lone surrogate', { token: 'abc\uD800def' }, 'token', 'well-formed'],
  ['an empty userId', { userId: '' }, 'userId', 'must not be empty'],
  ['a blank userId', { userId: '  ' }, 'userId', 'must not be empty'],
  ['a negative userId', { userId: -1 }, 'userId', 'negative'],
  ['a negative userId string', { userId: '-3' }, 'userId', 'negative'],
  ['a fractional userId', { userId: 1.5 }, 'userId', 'integer'],
  ['a fractional userId string', { userId: '2.5' }, 'userId', 'integer'],
  ['a NaN userId', { userId: Number.NaN }, 'userId', 'finite'],
  ['an infinite userId', { userId: Number.POSITIVE_INFINITY }, 'userId', 'finite'],
  ['an unsafe integer userId', { userId: 2 ** 53 }, 'userId', 'too large'],
  ['a missing userId', { userId: undefined }, 'userId', 'a number or a string'],
  ['a null userId', { userId: null }, 'userId', 'a number or a string'],
  ['a boolean userId', { userId: true }, 'userId', 'a number or a string'],
  ['an object userId', { userId: { id: 2 } }, 'userId', 'a number or a string'],
  ['an array userId', { userId: [2] }, 'userId', 'a number or a string'],
  ['a bigint userId', { userId: 2n }, 'userId', 'a number or a string'],
  ['a "." userId', { userId: '.' }, 'userId', 'must not be'],
  ['a ".." userId', { userId: '..' }, 'userId', 'must not be'],
  ['a userId with a lone surrogate', { userId: 'u\uDC00' }, 'userId', 'well-formed'],
  ['an empty path', { path: '' }, 'path', 'non-empty route template'],
  ['a blank path', { path: '  ' }, 'path', 'non-empty route template'],
  ['a non-string path', { path: 42 }, 'path', 'non-empty route template'],
  ['an ftp baseUrl', { baseUrl: 'ftp://example.com' }, 'baseUrl', 'unsupported scheme "ftp:"'],
  ['a file baseUrl', { baseUrl: 'file:///srv/app' }, 'baseUrl', 'unsupported scheme "file:"'],
  ['a javascript baseUrl', { baseUrl: 'javascript:alert(1)' }, 'baseUrl', 'unsupported scheme'],
  [
    'a host:port baseUrl without a scheme',
    { baseUrl: 'localhost:8000' },
    'baseUrl',
    'has no scheme; write "http://localhost:8000"',
  ],
  [
    'an IP:port baseUrl without a scheme',
    { baseUrl: '127.0.0.1:8000/api/v1' },
    'baseUrl',
    'has no scheme; write "http://127.0.0.1:8000/api/v1"',
  ],
  ['a baseUrl without a host', { baseUrl: 'https://' }, 'baseUrl', 'not a valid URL'],
  [
    'a baseUrl with an out-of-range port',
    { baseUrl: 'https://h:99999' },
    'baseUrl',
    'not a valid URL',
  ],
  ['a relative baseUrl in Node', { baseUrl: '/backend' }, 'baseUrl', 'relative'],
  ['a numeric baseUrl', { baseUrl: 8000 }, 'baseUrl', 'must be a string'],
  ['a missing baseUrl', { baseUrl: undefined }, 'baseUrl', 'must be a string'],
];

describe('buildTaskStatusUrl rejects bad input', () => {
  it.each(badInputs)('throws INVALID_OPTIONS for %s', (_name, override, option, problem) => {
    const error = thrown(() => buildLoose({ ...valid, ...override }));
    expect(error.name).toBe('TaskStatusError');
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain(`"${option}"`);
    expect(error.message).toContain(problem);
  });

  it.each(badInputs)('keeps the token out of the message for %s', (_name, override) => {
    const { token } = { ...valid, ...override };
    // Empty, null and missing tokens have nothing to leak; every other one must not appear.
    const secret =
      typeof token === 'number' || (typeof token === 'string' && token.trim() !== '')
        ? String(token)
        : SECRET;
    const error = thrown(() => buildLoose({ ...valid, ...override }));
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain(SECRET);
  });

  it.each([
    ['a relative base', `/backend?token=${SECRET}`],
    ['an invalid URL', `https://h:99999/?token=${SECRET}`],
  ])('redacts a token carried by %s in the message', (_name, baseUrl) => {
    const error = thrown(() => buildLoose({ ...valid, baseUrl }));
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain('token=***');
    expect(error.message).not.toContain(SECRET);
  });
});

describe('redactUrl', () => {
  it.each([
    ['wss://h/api/v1/ws/tasks/2?token=eyJhbGciOi.x.y', 'wss://h/api/v1/ws/tasks/2?token=***'],
    ['wss://h/x?a=1&token=abc&b=2', 'wss://h/x?a=1&token=***&b=2'],
    ['wss://h/x?token=a%2Bb%2Fc%3D&b=2', 'wss://h/x?token=***&b=2'],
    ['wss://h/x?access_token=abc', 'wss://h/x?access_token=***'],
    ['wss://h/x?TOKEN=abc', 'wss://h/x?TOKEN=***'],
    ['wss://h/x?token=abc#frag', 'wss://h/x?token=***#frag'],
    ['wss://h/x?token=', 'wss://h/x?token=***'],
    ['wss://h/x?token=a&token=b', 'wss://h/x?token=***&token=***'],
    ['connecting to wss://h/x?token=abc failed', 'connecting to wss://h/x?token=*** failed'],
    ['wss://h/api/v1/ws/tasks/2', 'wss://h/api/v1/ws/tasks/2'],
    ['wss://h/x?mytoken=abc&tokens=1', 'wss://h/x?mytoken=abc&tokens=1'],
    ['wss://me:pa55word@h:8000/x?token=abc', 'wss://***@h:8000/x?token=***'],
    ['failed: "wss://sk_live_key@h/x"', 'failed: "wss://***@h/x"'],
    ['wss://h/users/me@example.com?next=//h/a', 'wss://h/users/me@example.com?next=//h/a'],
  ])('redacts %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('hides every form of a token the builder wrote', () => {
    const token = 'a+b/c= d&e';
    const redacted = redactUrl(build('https://h/?region=eu', { token }));
    expect(redacted).toBe('wss://h/api/v1/ws/tasks/2?region=eu&token=***');
    expect(redacted).not.toContain(encodeURIComponent(token));
  });
});

describe('redactUrl inside quoted text', () => {
  it('keeps the closing quote of a URL quoted in JSON', () => {
    const json = JSON.stringify({ url: 'wss://h/api/v1/ws/tasks/2?token=abc', next: 1 });
    expect(JSON.parse(redactUrl(json))).toEqual({
      url: 'wss://h/api/v1/ws/tasks/2?token=***',
      next: 1,
    });
  });

  it('masks the whole of a token that holds a quote', () => {
    const url = buildTaskStatusUrl({ baseUrl: 'https://h', userId: 2, token: "it's(secret)!*" });
    expect(new URL(url).searchParams.get('token')).toBe("it's(secret)!*");
    expect(redactUrl(url)).toBe('wss://h/api/v1/ws/tasks/2?token=***');
  });
});
