/**
 * Random servers against random calls. Each seed scripts a real `ws` server (every socket acks,
 * stays quiet, refuses, greets with text, drops or closes, after a random delay) and makes a
 * client with random settings and token source that is then driven by a random mix of
 * `connect()`, `reconnect()`, `close()`, an abort, iterators and waits. Whatever happened, after
 * `close()` no promise the client gave may hang, the server may get no frame and keep no socket
 * open, and the state machine must have moved one step at a time.
 *
 * Seeds are fixed; timing still varies, so a failing seed may need a few runs to show again.
 * `FUZZ_FROM=58 FUZZ_SEEDS=58` runs seed 58 alone (`FUZZ_SEEDS` is the last seed).
 */
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { TaskStatusClient, type TaskStatusClientOptions } from '../../src/index.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';

/** Which seeds run: 1 to 150 unless the environment says otherwise (see above). */
const { FUZZ_FROM = '1', FUZZ_SEEDS = '150' } = process.env;
const FIRST_SEED = Number(FUZZ_FROM);
const LAST_SEED = Number(FUZZ_SEEDS);
/** Longer than a heartbeat interval, any backoff delay and any token delay below. */
const QUIET_AFTER_CLOSE_MS = 150;

/** A small deterministic generator (an LCG): the same seed replays the same run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

type Random = () => number;
const pick = <T>(random: Random, choices: readonly T[]): T =>
  choices[Math.floor(random() * choices.length)] as T;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SERVER_MOVES = {
  ack: (ws: WebSocket) => ws.send('{"type":"connected"}'),
  quiet: () => {},
  refuse: (ws: WebSocket) => {
    ws.send('{"type":"error","message":"Invalid token"}');
    ws.close(1000);
  },
  'refuse-text': (ws: WebSocket) => {
    ws.send('Authentication failed');
    ws.close(1000);
  },
  greet: (ws: WebSocket) => ws.send('Welcome'),
  'error-only': (ws: WebSocket) => ws.send('{"type":"error","message":"Unsupported"}'),
  detail: (ws: WebSocket) => ws.send('{"detail":"Not found"}'),
  drop: (ws: WebSocket) => ws.terminate(),
  restart: (ws: WebSocket) => ws.close(1012),
  'ack-then-away': (ws: WebSocket) => {
    ws.send('{"type":"connected"}');
    setTimeout(() => ws.readyState === ws.OPEN && ws.close(1001), 30);
  },
} satisfies Record<string, (ws: WebSocket) => void>;

/** How a socket that is still open may end later on. */
const ENDINGS = ['drop', 'restart', 'ack-then-away'] as const;

/**
 * Every socket makes one random move after a random delay, half of them end a little later
 * (so the client spends much of a run reconnecting), and each answers pings or not. The server
 * has its own generator, drawn per socket, so the client's draws do not shift its moves.
 */
function scriptServer(server: TestServer, random: Random): { lastFrameAt: number } {
  const heard = { lastFrameAt: 0 };
  const moves = Object.keys(SERVER_MOVES) as (keyof typeof SERVER_MOVES)[];
  server.onSocket = (ws) => {
    const move = SERVER_MOVES[pick(random, moves)];
    const delayMs = Math.floor(random() * 80);
    const ending = random() < 0.5 ? SERVER_MOVES[pick(random, ENDINGS)] : undefined;
    const endAfterMs = delayMs + 20 + Math.floor(random() * 100);
    const answersPings = random() < 0.7;
    setTimeout(() => ws.readyState === ws.OPEN && move(ws), delayMs);
    if (ending) setTimeout(() => ws.readyState === ws.OPEN && ending(ws), endAfterMs);
    ws.on('message', (data) => {
      heard.lastFrameAt = Date.now();
      if (answersPings && String(data).includes('ping') && ws.readyState === ws.OPEN) {
        ws.send('{"type":"pong"}');
      }
    });
  };
  return heard;
}

function tokenSource(random: Random): TaskStatusClientOptions['token'] {
  const kind = pick(random, ['string', 'sync', 'async', 'slow', 'flaky'] as const);
  if (kind === 'string') return 'tok';
  if (kind === 'sync') return () => 'tok';
  return () =>
    new Promise<string>((resolve, reject) =>
      setTimeout(
        () =>
          kind === 'flaky' && random() < 0.3 ? reject(new Error('refresh failed')) : resolve('tok'),
        kind === 'slow' ? 80 : 5,
      ),
    );
}

/** Problems with the order of `state` and `open` events, as they happen. */
function watchStates(client: TaskStatusClient, problems: string[]): void {
  let last = 'idle';
  client.on('state', (next, previous) => {
    if (previous !== last) problems.push(`state went ${last} -> ${next} but said ${previous}`);
    if (next === previous) problems.push(`state event without a change (${next})`);
    last = next;
  });
  let open = false;
  client.on('open', () => {
    if (client.state !== 'open') problems.push(`open event in state ${client.state}`);
    if (open) problems.push('a second open without a close between');
    open = true;
  });
  client.on('close', () => {
    open = false;
  });
  client.on('error', () => {});
}

/** The calls a run is made of; the repeated ones come up more often. */
const CALLS = [
  'connect',
  'connect',
  'connect',
  'reconnect',
  'pause',
  'pause',
  'pause',
  'pause',
  'close',
  'abort',
  'follow',
] as const;

/**
 * Makes the calls; returns how many of the promises they gave are still unsettled. After
 * `close()` that must come to zero: no `connect()`, iterator or wait may hang.
 */
async function drive(
  client: TaskStatusClient,
  random: Random,
  abort: AbortController | undefined,
): Promise<() => number> {
  let unsettled = 0;
  const track = (promise: Promise<unknown>) => {
    unsettled++;
    void promise.then(
      () => unsettled--,
      () => unsettled--,
    );
  };
  const steps = 8 + Math.floor(random() * 13);
  for (let step = 0; step < steps; step++) {
    switch (pick(random, CALLS)) {
      case 'connect':
        track(client.connect());
        break;
      case 'reconnect':
        track(client.reconnect());
        break;
      case 'pause':
        await pause(Math.floor(random() * 60));
        break;
      case 'close':
        await client.close();
        break;
      case 'abort':
        abort?.abort();
        break;
      case 'follow':
        track(client.updates().next());
        track(client.waitForTask(1));
        break;
    }
  }
  return () => unsettled;
}

async function runSeed(seed: number): Promise<string[]> {
  const random = generator(2 * seed);
  const problems: string[] = [];
  const server = await startWsServer();
  try {
    const heard = scriptServer(server, generator(2 * seed + 1));
    const abort = random() < 0.3 ? new AbortController() : undefined;
    const client = new TaskStatusClient({
      baseUrl: server.baseUrl,
      userId: 2,
      token: tokenSource(random),
      authGraceMs: pick(random, [0, 20, 50]),
      connectTimeoutMs: 300,
      heartbeat: { intervalMs: 60, timeoutMs: 40 },
      reconnect: { initialDelayMs: 30, maxDelayMs: 120, maxInitialAttempts: 4, maxAttempts: 6 },
      ...(abort ? { signal: abort.signal } : {}),
    });
    watchStates(client, problems);
    const unsettled = await drive(client, random, abort);
    await client.close();
    const closedAt = Date.now();
    if (client.state !== 'closed') problems.push(`state ${client.state} after close()`);
    await expect
      .poll(unsettled)
      .toBe(0)
      .catch(() => problems.push(`${unsettled()} promises unsettled after close()`));
    // A socket left behind keeps pinging; an upgrade already on its way at close() may still
    // reach the server, but it is dropped and sends nothing.
    await pause(QUIET_AFTER_CLOSE_MS);
    if (heard.lastFrameAt > closedAt) problems.push('the server got a frame after close()');
    await expect
      .poll(() => server.sockets.filter((socket) => socket.readyState !== socket.CLOSED).length, {
        timeout: 3_000,
      })
      .toBe(0)
      .catch(() => problems.push('a socket still open on the server after close()'));
  } finally {
    await server.close();
  }
  return problems.map((problem) => `seed ${seed}: ${problem}`);
}

describe('random servers against random calls', () => {
  it(`leave no socket behind and keep the state machine in step (seeds ${FIRST_SEED}–${LAST_SEED})`, {
    timeout: 300_000,
  }, async () => {
    const problems: string[] = [];
    for (let seed = FIRST_SEED; seed <= LAST_SEED; seed++) problems.push(...(await runSeed(seed)));
    expect(problems).toEqual([]);
  });
});
