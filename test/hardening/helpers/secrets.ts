import { inspect } from 'node:util';
import { vi } from 'vitest';
import type { TaskStatusClient, TaskStatusEvents } from '../../../src/index.js';

/** A token no message could contain by chance, with the characters URLs and JSON encode. */
export const TOKEN = 'tok-SECRET-1234+/=';

/** A leaked slice this long is a leak: a truncated token still gives most of it away. */
const FRAGMENT = 6;

const EVENTS: readonly (keyof TaskStatusEvents)[] = [
  'state',
  'open',
  'close',
  'reconnecting',
  'authError',
  'error',
  'heartbeat',
  'message',
  'task',
  'resynced',
];

/** Every form of `token` (or of a large enough slice of it) that occurs in `text`. */
export function leaksIn(text: string, token = TOKEN): string[] {
  const json = JSON.stringify(token).slice(1, -1);
  const forms = new Set([token, encodeURIComponent(token), json, asciiJson(json)]);
  for (let start = 0; start + FRAGMENT <= token.length; start++) {
    forms.add(token.slice(start, start + FRAGMENT));
  }
  return [...forms].filter((form) => text.includes(form));
}

/**
 * JSON text as Python's `json.dumps` writes it by default (and so FastAPI's `send_json`): every
 * character past ASCII as a `\\uXXXX` escape, with lowercase hex.
 */
export function asciiJson(json: string): string {
  return json.replace(
    /[\u0080-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Everything a value shows to a logger, a JSON encoder or a string template, causes included. */
export function render(value: unknown): string {
  const parts = [
    inspect(value, {
      depth: 20,
      showHidden: true,
      getters: true,
      maxArrayLength: Number.POSITIVE_INFINITY,
      maxStringLength: Number.POSITIVE_INFINITY,
      breakLength: Number.POSITIVE_INFINITY,
    }),
  ];
  try {
    parts.push(JSON.stringify(value) ?? '');
  } catch {
    // A value JSON cannot encode shows nothing that way.
  }
  if (value instanceof Error) {
    parts.push(String(value), value.stack ?? '');
    if (value.cause !== undefined) parts.push(render(value.cause));
  } else if (typeof value === 'object' && value !== null) {
    parts.push(String(value));
  }
  return parts.join('\n');
}

/** Records the arguments of every event the client emits. */
export function recordEvents(client: TaskStatusClient): unknown[][] {
  const log: unknown[][] = [];
  for (const event of EVENTS) {
    client.on(event, (...args: unknown[]) => log.push([event, ...args]));
  }
  return log;
}

/** Captures everything written to the console, stdout and stderr until `restore()`. */
export function captureOutput(): { text(): string; restore(): void } {
  const spies = [
    ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) =>
      vi.spyOn(console, method),
    ),
    vi.spyOn(process.stdout, 'write'),
    vi.spyOn(process.stderr, 'write'),
  ];
  return {
    text: () => spies.flatMap((spy) => spy.mock.calls.map((call) => render(call))).join('\n'),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
