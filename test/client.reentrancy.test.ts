import { describe, expect, it } from 'vitest';
import { nextEvent, record, rejection } from './helpers/events.js';
import { setupWsHarness } from './helpers/harness.js';

const harness = setupWsHarness({
  heartbeat: false,
  authGraceMs: 60_000,
  reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
});

function client(token: string | (() => string)) {
  return harness.client({ token });
}

describe('listeners that act on the client', () => {
  it('stays closed when an error listener calls close() during a drop', async () => {
    harness.server.onSocket = (ws) => ws.send('{"type":"connected"}');
    const c = client('tok');
    await c.connect();
    c.once('error', () => void c.close());
    const reconnecting = record(c, ['reconnecting']);
    const closed = nextEvent(c, 'close');
    harness.server.sockets[0]?.close(1001);
    await closed;
    expect(reconnecting).toEqual([]);
    expect(c.state).toBe('closed');
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('stays closed when an authError listener calls close()', async () => {
    harness.server.onSocket = (ws) => {
      ws.send('{"type":"error","code":"auth_failed"}');
      ws.close(1008);
    };
    let calls = 0;
    const c = client(() => `t${++calls}`);
    c.on('authError', () => void c.close());
    expect((await rejection(c.connect())).code).toBe('CONNECTION_CLOSED');
    expect(calls).toBe(1);
    expect(c.state).toBe('closed');
  });

  it('is reconnecting, not open, while it re-authenticates after an accepted connection', async () => {
    harness.server.onSocket = (ws, request) => {
      ws.send('{"type":"connected"}');
      if (request.url?.endsWith('token=t1')) {
        setTimeout(() => {
          ws.send('{"type":"error","code":"token_expired"}');
          ws.close(1008);
        }, 5);
      }
    };
    let calls = 0;
    const c = client(() => `t${++calls}`);
    await c.connect();
    await nextEvent(c, 'authError');
    expect(c.state).toBe('reconnecting');
    await nextEvent(c, 'open');
    expect(calls).toBe(2);
  });
});
