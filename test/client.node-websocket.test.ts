/**
 * The client with Node's own `WebSocket` (undici's, Node 22+) passed as the `WebSocket` option,
 * against a real server. Node 20 has no such global: there the same class comes from the
 * `undici` package, so the file runs on every Node.
 */
import { WebSocket as UndiciWebSocket } from 'undici';
import { describe, expect, it } from 'vitest';
import type { ReconnectingInfo, WebSocketConstructor } from '../src/index.js';
import { nextEvent } from './helpers/events.js';
import { setupWsHarness } from './helpers/harness.js';

/** Node's own class where there is one (`npm run test:node24`), else undici's. */
const NodeOwnWebSocket: WebSocketConstructor = globalThis.WebSocket ?? UndiciWebSocket;

const harness = setupWsHarness({
  heartbeat: false,
  reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
});

function client(options: { authGraceMs: number }) {
  return harness.client({ ...options, WebSocket: NodeOwnWebSocket });
}

describe("with Node's own WebSocket (undici's) passed as the option", () => {
  // Its socket fires an error event with an empty message before every close with no close
  // frame: that says nothing, and must not read as a failure with no words.
  it('says that an accepted connection was dropped', async () => {
    const c = client({ authGraceMs: 0 });
    await c.connect();
    const reconnecting = nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
    harness.server.sockets[0]?.terminate();
    const [info] = await reconnecting;
    expect(info.reason.code).toBe('CONNECTION_LOST');
    expect(info.reason.message).toBe('Connection dropped (close 1006)');
  });

  it('says that a connection was dropped before its verdict', async () => {
    harness.server.onSocket = (ws) => ws.terminate();
    const c = client({ authGraceMs: 60_000 });
    const reconnecting = nextEvent<[ReconnectingInfo]>(c, 'reconnecting');
    void c.connect().catch(() => {});
    const [info] = await reconnecting;
    expect(info.reason.code).toBe('CONNECTION_LOST');
    expect(info.reason.message).toBe('Connection dropped before the auth verdict (close 1006)');
  });
});
