import type { WebSocket } from 'ws';
import NodeWebSocket from 'ws';
import type { ParsedFrame, TaskStatusClient, WebSocketConstructor } from '../../../src/index.js';

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

/**
 * `ws`'s class, passed explicitly by the tests that drive real sockets through failures. Only
 * `ws` can drop a dead socket at once (`terminate()`) and show a refused upgrade's HTTP status;
 * a WHATWG socket (browsers, Node 22+'s global) can only be asked to close, and a black-holed
 * link then lingers until the platform gives up on it (see docs/reliability.md).
 */
export const NODE_WEBSOCKET: WebSocketConstructor = NodeWebSocket;
