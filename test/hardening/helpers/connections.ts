import type { WebSocket } from 'ws';
import type { ParsedFrame, TaskStatusClient } from '../../../src/index.js';

/**
 * The server side of the chaos tests: every socket gets a `connected` frame carrying its own
 * serial number, and every ping a pong, so the client's `open` events can be matched to sockets.
 */
export function numberedConnections(): (ws: WebSocket) => void {
  let serial = 0;
  return (ws) => {
    ws.send(JSON.stringify({ type: 'connected', user_id: 2, conn: ++serial }));
    ws.on('message', (data) => {
      if (String(data) === '{"type":"ping"}') ws.send('{"type":"pong"}');
    });
  };
}

/** Records `open`, `close` and the serial of each `connected` frame, in order. */
export function connectionLog(client: TaskStatusClient): string[] {
  const log: string[] = [];
  client.on('open', () => log.push('open'));
  client.on('close', () => log.push('close'));
  client.on('message', (frame: ParsedFrame) => {
    if (frame.kind === 'connected')
      log.push(`connected:${String((frame.frame as { conn?: unknown }).conn)}`);
  });
  return log;
}

/**
 * The problems in a connection log: an `open` must not follow another `open` without a `close`
 * between, and each must come with the `connected` frame of a socket never seen before. A
 * `close` alone is fine: a socket that opened but was cut before its verdict reports one.
 */
export function openProblems(log: readonly string[]): string[] {
  const problems: string[] = [];
  const serials = new Set<string>();
  let open = false;
  log.forEach((entry, index) => {
    if (entry === 'close') open = false;
    if (entry !== 'open') return;
    if (open) problems.push(`#${index}: a second open without a close between`);
    open = true;
    const next = log[index + 1] ?? '';
    if (!next.startsWith('connected:'))
      problems.push(`#${index}: an open without its socket's verdict`);
    else if (serials.has(next)) problems.push(`#${index}: a second open for ${next}`);
    serials.add(next);
  });
  return problems;
}

/** Heartbeat settings small enough to test detection bounds in real time. */
export const FAST_HEARTBEAT = { intervalMs: 100, timeoutMs: 100 } as const;

/** Scheduling slack allowed on top of a detection bound (timers, a busy CI machine). */
export const SLACK_MS = 150;
