import { DEFAULT_TASK_STATUS_PATH, redactUrl } from '../../index.js';
import type { DoctorOptions, Target } from './target.js';
import { type CheckOutcome, fail, pass, warn } from './types.js';

/**
 * The canonical URL, and what a naïve join of the base and the route would have produced: the
 * doubled route `/api/v1/api/v1/ws/tasks/{user_id}` comes from a base ending in `/api/v1` glued
 * to the full route.
 */
export function checkUrl(
  target: Target | undefined,
  options: DoctorOptions,
  problem: string | undefined,
): CheckOutcome {
  if (target === undefined) {
    return fail(
      'invalid-url',
      problem ?? 'the base URL cannot be used',
      'pass an absolute base URL such as http://localhost:8000 (http, https, ws or wss)',
    );
  }
  const route = (options.path ?? DEFAULT_TASK_STATUS_PATH).replace(
    /\{(userId|user_id)\}/,
    encodeURIComponent(String(options.userId)),
  );
  const naive = naiveJoin(options.baseUrl, route);
  const canonicalPath = new URL(target.socketUrl).pathname;
  const naiveDoubled = naive !== undefined && naive.pathname !== canonicalPath;
  const notes: string[] = [];
  if (naiveDoubled) {
    notes.push(
      `joining the base and "${route}" naïvely would give ${naive.pathname} (a doubled prefix); the SDK strips the overlap`,
    );
  }
  const data = {
    url: target.safeUrl,
    naiveUrl: naive === undefined ? null : redactUrl(naive.href),
    naiveDoubled,
    mount: target.mount,
  };
  const baseRepeat = repeatedRun(segments(safePathname(options.baseUrl)));
  if (baseRepeat !== undefined) {
    return warn(
      'doubled-prefix',
      `the base URL repeats "/${baseRepeat}"; the SDK still builds ${target.safeUrl}`,
      `remove the repeated "/${baseRepeat}" from the configured base URL; other clients (proxies, scripts) joining it will double the prefix`,
      { notes, data },
    );
  }
  const routeRepeat = repeatedRun(segments(canonicalPath));
  if (routeRepeat !== undefined) {
    return warn(
      'doubled-prefix',
      `the socket path repeats "/${routeRepeat}": ${target.safeUrl}`,
      `the server registers its router prefix twice; mount the socket once, at ${DEFAULT_TASK_STATUS_PATH.replace('{userId}', '{user_id}')}`,
      { notes, data },
    );
  }
  return pass(target.safeUrl, { notes, data });
}

function naiveJoin(baseUrl: string, route: string): URL | undefined {
  try {
    return new URL(
      `${baseUrl
        .trim()
        .replace(/[?#].*$/, '')
        .replace(/\/+$/, '')}${route}`,
    );
  } catch {
    return undefined;
  }
}

function safePathname(baseUrl: string): string {
  try {
    return new URL(baseUrl.trim()).pathname;
  } catch {
    return '';
  }
}

function segments(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/** The first run of two or more segments that is repeated right after itself (`api/v1`). */
export function repeatedRun(parts: readonly string[]): string | undefined {
  for (let size = Math.floor(parts.length / 2); size >= 2; size--) {
    for (let start = 0; start + 2 * size <= parts.length; start++) {
      let same = true;
      for (let i = 0; i < size && same; i++) same = parts[start + i] === parts[start + size + i];
      if (same) return parts.slice(start, start + size).join('/');
    }
  }
  return undefined;
}
