import { describe, expect, it } from 'vitest';
import type { TaskStatusError } from '../src/index.js';
import { nextEvent } from './helpers/events.js';
import { setupWsHarness } from './helpers/harness.js';

const harness = setupWsHarness({
  authGraceMs: 0,
  reconnect: { initialDelayMs: 0, maxDelayMs: 0 },
});
const client = harness.client;

/** Makes the server answer `ping` with `pong` (and nothing else); returns what it receives. */
function answerPings(ping: string, pong: string): string[] {
  const received: string[] = [];
  harness.server.onSocket = (ws) =>
    ws.on('message', (data) => {
      received.push(String(data));
      if (String(data) === ping) ws.send(pong);
    });
  return received;
}

describe('heartbeat', () => {
  it('pings on an interval and reports the round trip of the pong', async () => {
    const received = answerPings('{"type":"ping"}', '{"type":"pong"}');
    const c = client({ heartbeat: { intervalMs: 30, timeoutMs: 200 } });
    await c.connect();
    const [info] = await nextEvent<[{ rttMs: number }]>(c, 'heartbeat');
    expect(info.rttMs).toBeGreaterThanOrEqual(0);
    expect(info.rttMs).toBeLessThan(200);
    expect(received[0]).toBe('{"type":"ping"}');
  });

  it('sends heartbeat.message instead, for a server that answers only a plain-text ping', async () => {
    const received = answerPings('ping', 'pong');
    const c = client({ heartbeat: { intervalMs: 30, timeoutMs: 200, message: 'ping' } });
    const errors: TaskStatusError[] = [];
    c.on('error', (error) => errors.push(error));
    await c.connect();
    const [info] = await nextEvent<[{ rttMs: number }]>(c, 'heartbeat');
    await nextEvent(c, 'heartbeat');

    expect(info.rttMs).toBeGreaterThanOrEqual(0);
    expect(info.rttMs).toBeLessThan(200);
    expect(received.slice(0, 2)).toEqual(['ping', 'ping']);
    expect(errors).toEqual([]);
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('takes a pong written as a JSON string (send_json("pong")) as a pong', async () => {
    answerPings('ping', '"pong"');
    const c = client({ heartbeat: { intervalMs: 30, timeoutMs: 200, message: 'ping' } });
    const kinds: string[] = [];
    c.on('message', (message) => kinds.push(message.kind));
    await c.connect();
    const [info] = await nextEvent<[{ rttMs: number }]>(c, 'heartbeat');

    expect(info.rttMs).toBeLessThan(200);
    expect(kinds).toEqual(['pong']);
  });

  it('answers JSON and plain-text server pings in kind', async () => {
    const answers: string[] = [];
    harness.server.onSocket = (ws) => {
      ws.on('message', (data) => answers.push(String(data)));
      ws.send('{"type":"ping"}');
      ws.send('ping');
    };
    const c = client({ heartbeat: false });
    await c.connect();
    await expect.poll(() => answers).toEqual(['{"type":"pong"}', 'pong']);
  });

  it('drops a silent connection within interval + timeout and reconnects', async () => {
    const c = client({ heartbeat: { intervalMs: 60, timeoutMs: 60 } });
    await c.connect();
    const openedAt = Date.now();
    const failure = new Promise<TaskStatusError>((resolve) =>
      c.on('error', (e) => e.code === 'HEARTBEAT_TIMEOUT' && resolve(e)),
    );
    const closed = nextEvent<[{ willReconnect: boolean; code: number }]>(c, 'close');
    await failure;
    const detectedAfter = Date.now() - openedAt;
    expect(detectedAfter).toBeGreaterThanOrEqual(110);
    expect(detectedAfter).toBeLessThan(600);
    expect((await closed)[0]).toMatchObject({ code: 1006, willReconnect: true });
    await nextEvent(c, 'open');
    expect(harness.server.sockets).toHaveLength(2);
  });

  it('reads a pong that came while the event loop stalled past the timeout before it gives up', async () => {
    harness.server.onSocket = (ws) =>
      ws.once('message', () => {
        ws.send('{"type":"pong"}');
        // The process stalls (sync work, a long GC) past the answer's deadline, with the pong
        // already in the client's socket: the overdue timer then runs before the read.
        const until = Date.now() + 300;
        while (Date.now() < until);
      });
    const c = client({ heartbeat: { intervalMs: 20, timeoutMs: 100 } });
    await c.connect();
    const first = await new Promise<string>((resolve) => {
      c.once('heartbeat', ({ rttMs }) => resolve(`heartbeat ${rttMs >= 300}`));
      c.once('error', ({ code }) => resolve(code));
    });

    expect(first).toBe('heartbeat true');
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('counts any inbound frame as liveness, even when pings go unanswered', async () => {
    harness.server.onSocket = (ws) => {
      let progress = 0;
      const timer = setInterval(
        () =>
          ws.send(
            JSON.stringify({
              type: 'task_update',
              task_id: 1,
              status: 'running',
              progress: ++progress,
            }),
          ),
        15,
      );
      ws.on('close', () => clearInterval(timer));
    };
    const c = client({ heartbeat: { intervalMs: 30, timeoutMs: 40 } });
    const errors: TaskStatusError[] = [];
    c.on('error', (e) => errors.push(e));
    await c.connect();
    let updates = 0;
    await new Promise<void>((resolve) =>
      c.on('task', () => {
        if (++updates === 20) resolve();
      }),
    );
    expect(errors).toEqual([]);
    expect(harness.server.sockets).toHaveLength(1);
  });

  it('keeps one ping out at a time when timeoutMs is longer than intervalMs', async () => {
    const pings: number[] = [];
    harness.server.onSocket = (ws) => {
      // Ignores pings, but stays alive with a frame every 10 ms.
      const timer = setInterval(() => ws.send('{"type":"connected"}'), 10);
      ws.on('close', () => clearInterval(timer));
      ws.on('message', (data) => String(data) === '{"type":"ping"}' && pings.push(Date.now()));
    };
    const c = client({ heartbeat: { intervalMs: 5, timeoutMs: 60 } });
    await c.connect();
    await expect.poll(() => pings.length, { timeout: 2_000 }).toBeGreaterThanOrEqual(4);
    const gaps = pings.slice(1).map((at, i) => at - (pings[i] ?? at));
    // Each ping waits for the one before it to time out (a timer never fires early; 2 ms of
    // clock granularity allowed), not the 5 ms interval.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(58);
    await c.close();
  });

  it('still drops a link that dies after an error frame within interval + timeout of it', async () => {
    let errorSentAt = 0;
    harness.server.onSocket = (ws) =>
      ws.once('message', () => {
        // Answers the first ping with an error frame and no close, then says nothing more.
        errorSentAt = Date.now();
        ws.send(JSON.stringify({ type: 'error', code: 'token_expired', message: 'expired' }));
      });
    // An interval above the 1 s the client waits for a close after an error frame.
    const c = client({ heartbeat: { intervalMs: 1_500, timeoutMs: 100 }, reconnect: false });
    const timedOut = new Promise<number>((resolve) =>
      c.on('error', (e) => e.code === 'HEARTBEAT_TIMEOUT' && resolve(Date.now())),
    );
    await c.connect();
    const at = await timedOut;
    // 1500 + 100 ms and scheduling; the 1 s wait for a close after the frame must not add to it.
    expect(at - errorSentAt).toBeLessThan(2_100);
  });
});
