import { TaskStatusError } from './errors.js';

/** The route of the task-status socket; `{userId}` is replaced by the encoded user id. */
export const DEFAULT_TASK_STATUS_PATH = '/api/v1/ws/tasks/{userId}';

/** Input of {@link buildTaskStatusUrl}. */
export interface TaskStatusUrlOptions {
  /**
   * Where the backend lives: `http(s)://` or `ws(s)://`, optionally with the sub-path the app is
   * mounted under, optionally already ending in part of the route (`/api/v1`, `/api/v1/ws`),
   * optionally with query parameters (kept). In a browser it may be relative (`''`, `'/'`,
   * `'/backend'`) and is resolved against `location`.
   */
  baseUrl: string;
  /** The user whose tasks to follow: a non-negative integer or a non-empty string. */
  userId: number | string;
  /** The JWT sent as the `token` query parameter. */
  token: string;
  /**
   * Route template for servers that differ; `{userId}` (or `{user_id}`) marks the user id. A path
   * alone: the host and any query parameters go on `baseUrl`.
   * @default '/api/v1/ws/tasks/{userId}'
   */
  path?: string | undefined;
}

const SCHEME = /^[a-z][a-z\d+.-]*:/i;
const HOST_PORT = /^[^/?#:]+:\d+(?:[/?#]|$)/;
const PLACEHOLDER = /\{(?:userId|user_id)\}/g;
const WHOLE_PLACEHOLDER = /^\{(?:userId|user_id)\}$/;
const SCHEMES: Readonly<Record<string, string>> = {
  'http:': 'ws:',
  'https:': 'wss:',
  'ws:': 'ws:',
  'wss:': 'wss:',
};

/**
 * Builds the canonical task-status URL, `ws(s)://host[/mount]/api/v1/ws/tasks/{userId}?token=…`,
 * with the route prefix exactly once whatever form `baseUrl` takes.
 *
 * @throws {TaskStatusError} `INVALID_OPTIONS` naming the option and the problem.
 * @example
 * ```ts
 * buildTaskStatusUrl({ baseUrl: 'https://example.com/api/v1', userId: 2, token });
 * // 'wss://example.com/api/v1/ws/tasks/2?token=…'
 * ```
 */
export function buildTaskStatusUrl(options: TaskStatusUrlOptions): string {
  const { baseUrl, userId, token, path = DEFAULT_TASK_STATUS_PATH } = options;
  validateToken(token);
  const userSegment = encode('userId', validateUserId(userId));
  // A host, query or fragment written into the path would be percent-encoded into a route no
  // server has.
  if (typeof path !== 'string' || path.trim() === '' || /[?#]|:\/\//.test(path)) {
    throw invalid(
      'path',
      'must be a non-empty route template such as "/api/v1/ws/tasks/{userId}" (host and query go on baseUrl)',
    );
  }
  const url = resolveBase(baseUrl);
  const template = segments(path);
  // Encoded, the user id holds no `$`, so no replacement pattern can hide in it.
  const route = template.map((segment) => segment.replace(PLACEHOLDER, userSegment));
  const baseSegments = segments(url.pathname);
  const otherRoute = anotherUsersRoute(baseSegments, template, route);
  if (otherRoute !== undefined) {
    throw invalid('baseUrl', `ends in another user's task route, "/${otherRoute}": remove it`);
  }
  const base = stripRouteOverlap(baseSegments, route);
  url.pathname = `/${[...base, ...route].join('/')}`;
  const query = new URLSearchParams(url.search);
  query.delete('token');
  const kept = query.toString();
  url.search = `${kept ? `${kept}&` : ''}token=${escapeReserved(encode('token', token))}`;
  url.hash = '';
  return url.href;
}

/**
 * Masks the token in a URL (or any text holding one) so it can be logged, and the credentials
 * of a URL that carries them (`https://user:password@host`).
 *
 * @example
 * ```ts
 * redactUrl('wss://h/api/v1/ws/tasks/2?token=eyJ…'); // 'wss://h/api/v1/ws/tasks/2?token=***'
 * redactUrl('wss://me:pw@h/ws'); // 'wss://***@h/ws'
 * ```
 */
export function redactUrl(url: string): string {
  // Stops at quotes and angle brackets too, which no valid URL holds unencoded, so a URL
  // quoted in JSON or HTML keeps its closing quote.
  return url
    .replace(/([?&](?:access_)?token=)[^&#\s"'<>]*/gi, '$1***')
    .replace(/\/\/[^/?#@\s"'<>]+@/g, '//***@');
}

function validateToken(token: unknown): void {
  if (typeof token !== 'string') {
    // Not `describe(token)`: a numeric token would be echoed into the message.
    throw invalid('token', `must be a string, got ${token === null ? 'null' : typeof token}`);
  }
  if (token.trim() === '') throw invalid('token', 'must not be empty');
}

function validateUserId(userId: unknown): string {
  if (typeof userId === 'number') {
    if (!Number.isFinite(userId)) throw invalid('userId', `must be a finite number, got ${userId}`);
    if (!Number.isInteger(userId)) throw invalid('userId', `must be an integer, got ${userId}`);
    if (userId < 0) throw invalid('userId', `must not be negative, got ${userId}`);
    if (!Number.isSafeInteger(userId)) throw invalid('userId', `is too large: ${userId}`);
    return String(userId);
  }
  if (typeof userId === 'string') {
    const trimmed = userId.trim();
    if (trimmed === '') throw invalid('userId', 'must not be empty');
    if (/^-\d/.test(trimmed)) throw invalid('userId', `must not be negative, got "${trimmed}"`);
    if (/^\d*\.\d+$/.test(trimmed)) throw invalid('userId', `must be an integer, got "${trimmed}"`);
    // URL parsing would resolve these as dot segments and drop the user id from the path.
    if (trimmed === '.' || trimmed === '..') throw invalid('userId', `must not be "${trimmed}"`);
    return trimmed;
  }
  throw invalid('userId', `must be a number or a string, got ${describe(userId)}`);
}

function resolveBase(baseUrl: unknown): URL {
  if (typeof baseUrl !== 'string') {
    throw invalid('baseUrl', `must be a string, got ${describe(baseUrl)}`);
  }
  const trimmed = baseUrl.trim();
  // `localhost:8000` would parse as the scheme `localhost:`, and `127.0.0.1:8000` as a relative
  // path: both are a host and port written without a scheme.
  if (HOST_PORT.test(trimmed)) {
    const shown = redactUrl(trimmed);
    throw invalid(
      'baseUrl',
      `"${shown}" has no scheme; write "http://${shown}" (or https, ws, wss)`,
    );
  }
  let origin: string | undefined;
  if (!SCHEME.test(trimmed)) {
    const page = (globalThis as { location?: { origin?: unknown } }).location?.origin;
    if (typeof page !== 'string' || !/^https?:\/\//.test(page)) {
      throw invalid(
        'baseUrl',
        `"${redactUrl(trimmed)}" is relative, and there is no browser location to resolve it against; pass an absolute URL such as "https://api.example.com"`,
      );
    }
    origin = `${page}/`;
  }
  let url: URL;
  try {
    url = new URL(trimmed, origin);
    // Chromium lets a space into a host name (as "%20") where the URL standard, and Node, refuse it.
    if (url.hostname.includes('%')) throw new TypeError();
  } catch {
    throw invalid('baseUrl', `"${redactUrl(trimmed)}" is not a valid URL`);
  }
  const protocol = SCHEMES[url.protocol];
  if (protocol === undefined) {
    throw invalid(
      'baseUrl',
      `has unsupported scheme "${url.protocol}"; use http, https, ws or wss`,
    );
  }
  url.protocol = protocol;
  return url;
}

function segments(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

/**
 * The end of `base` when it is the whole route written for another user id (a socket URL copied
 * as the base), which kept as a mount path would double the route. Only whole-segment
 * placeholders are matched, and a template of placeholders alone (`/{userId}`) fits any mount
 * path, so it is not checked.
 */
function anotherUsersRoute(
  base: readonly string[],
  template: readonly string[],
  route: readonly string[],
): string | undefined {
  const tail = base.slice(-template.length);
  if (tail.length !== template.length || template.every(isPlaceholder)) return undefined;
  const fits = template.every(
    (segment, index) => segment === tail[index] || isPlaceholder(segment),
  );
  const written = tail.join('/');
  return fits && written !== route.join('/') ? written : undefined;
}

function isPlaceholder(segment: string): boolean {
  return WHOLE_PLACEHOLDER.test(segment);
}

/**
 * Removes route segments the base already ends with (`/api/v1`, `/api/v1/ws`, even a doubled
 * `/api/v1/api/v1`), so the route is appended exactly once.
 */
function stripRouteOverlap(base: string[], route: readonly string[]): string[] {
  let end = base.length;
  for (;;) {
    const overlap = longestOverlap(base, end, route);
    if (overlap === 0) return base.slice(0, end);
    end -= overlap;
  }
}

function longestOverlap(base: readonly string[], end: number, route: readonly string[]): number {
  for (let size = Math.min(end, route.length); size > 0; size--) {
    let matches = true;
    for (let index = 0; index < size && matches; index++) {
      matches = base[end - size + index] === route[index];
    }
    if (matches) return size;
  }
  return 0;
}

/**
 * Percent-encodes what `encodeURIComponent` leaves of `!'()*` in `encoded`, so no quote can end
 * a token early: the token as the socket URL carries it.
 */
function escapeReserved(encoded: string): string {
  return encoded.replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The forms a token takes in text a server may echo it in, for masking:
 * - raw, and percent-encoded: as the socket URL carries it, as `encodeURIComponent` and Python's
 *   `quote` (which keeps `/`) and `quote_plus` (a space as `+`) write it, in either case of hex;
 * - JSON-escaped, also as Python's `json.dumps` (and so FastAPI's `send_json`) writes it, with
 *   every character past ASCII as `\uXXXX`, and with `/` as `\/`, as PHP writes it.
 *
 * None for a token under 4 characters, which would mask ordinary words.
 */
export function tokenForms(token: string): string[] {
  if (token.length < 4) return [];
  let encoded: string;
  try {
    encoded = encodeURIComponent(token);
  } catch {
    encoded = token; // a lone surrogate: such a token never reaches a URL
  }
  const reserved = escapeReserved(encoded);
  const json = JSON.stringify(token).slice(1, -1);
  const ascii = json.replace(
    /[\u0080-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const percent = [
    encoded,
    reserved,
    reserved.replaceAll('%2F', '/'),
    reserved.replaceAll('%20', '+'),
  ];
  const escaped = [json, ascii];
  return [
    ...new Set([
      token,
      ...percent,
      ...percent.map((form) => form.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())),
      ...escaped,
      ...escaped.map((form) => form.replaceAll('/', '\\/')),
    ]),
  ];
}

/** Shorter than this, a cut-off start of a token is left as it is: it may be an ordinary word. */
const PARTIAL_TOKEN = 12;

/**
 * Masks each of `forms` (from {@link tokenForms}) in `text`, and any start of one that is at
 * least 12 characters long: a server may cut the token it echoes, as in a close reason, which
 * holds at most 123 bytes. Every form is looked for in the text as given, and the places found
 * are merged before masking, so that one form's match never hides another's. One read of the
 * text per form.
 */
export function maskToken(text: string, forms: readonly string[]): string {
  const found: [start: number, end: number][] = [];
  for (const form of forms) {
    const start = form.length > PARTIAL_TOKEN ? form.slice(0, PARTIAL_TOKEN) : form;
    for (let at = text.indexOf(start); at !== -1; ) {
      let end = at + start.length;
      while (end < text.length && end - at < form.length && text[end] === form[end - at]) end++;
      found.push([at, end]);
      at = text.indexOf(start, end);
    }
  }
  if (found.length === 0) return text;
  found.sort((x, y) => x[0] - y[0]);
  let masked = '';
  let from = -1; // the end of the masked run so far, none yet
  for (const [start, end] of found) {
    // A place that starts inside (or right at the end of) the run so far lengthens it.
    if (start > from) masked += `${text.slice(Math.max(from, 0), start)}***`;
    from = Math.max(from, end);
  }
  return masked + text.slice(from);
}

/** `encodeURIComponent`, but a lone surrogate is an `INVALID_OPTIONS`, not a `URIError`. */
function encode(option: string, value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    throw invalid(option, 'must be well-formed Unicode (it holds a lone surrogate)');
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'number' ? String(value) : typeof value;
}

function invalid(option: string, problem: string): TaskStatusError {
  return new TaskStatusError('INVALID_OPTIONS', `Invalid option "${option}": ${problem}`);
}
