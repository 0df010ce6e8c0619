/**
 * The client across a real (virtual) network that fails in the kernel. The server runs in a
 * network namespace of its own, reached over a veth pair (`netns.ts`); the client runs in the
 * test's namespace, from Node and from Chromium. Unlike the chaos tests' TCP proxy, nothing in
 * user space sees the failures: a link without carrier, an address that drops every packet
 * unanswered, a route that is gone.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import NodeWebSocket from 'ws';
import {
  type ResyncUpdate,
  TaskStatusClient,
  type TaskStatusClientOptions,
  type TaskStatusError,
} from '../../src/index.js';
import {
  connectionLog,
  numberedConnections,
  openProblems,
} from '../hardening/helpers/connections.js';
import { nextEvent, rejection } from '../helpers/events.js';
import { at, taskFrame } from '../helpers/frames.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { killBackends, startBackend } from './fastapi/backend.js';
import { setupChromium } from './harness.js';
import { startVirtualNetwork, type VirtualNetwork } from './netns.js';

const HEARTBEAT = { intervalMs: 200, timeoutMs: 200 } as const;
const BOUND_MS = HEARTBEAT.intervalMs + HEARTBEAT.timeoutMs;
/** Scheduling slack on a bound: timers, and a CI machine busy with the other e2e files. */
const SLACK_MS = 250;
/** How long `close()` waits for the closing handshake of an open socket before it drops it. */
const CLOSE_GRACE_MS = 1_000;
const fixture = fileURLToPath(new URL('../fixtures/close-on-dead-link.ts', import.meta.url));

const chromium = setupChromium();
let network: VirtualNetwork | undefined;
/** A `ws` server in the namespace, in this process, its sockets numbered (`connected` frames). */
let wsServer: TestServer | undefined;
const clients: TaskStatusClient[] = [];

beforeAll(async () => {
  network = await startVirtualNetwork();
  wsServer = await startWsServer(numberedConnections(), { at: await network.listen() });
});

afterEach(async () => {
  // The link back first, so that no client has to wait out a closing handshake.
  await network?.heal();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await killBackends();
  if (wsServer !== undefined) {
    wsServer.dropAll();
    wsServer.onSocket = numberedConnections();
  }
});

afterAll(async () => {
  await wsServer?.close();
  await network?.close();
});

function net(): VirtualNetwork {
  if (network === undefined) throw new Error('the network starts in beforeAll');
  return network;
}

function backend(): TestServer {
  if (wsServer === undefined) throw new Error('the server starts in beforeAll');
  return wsServer;
}

/** A client of user 2 of the namespace's `ws` server, with short deadlines and delays. */
function client(options: Partial<TaskStatusClientOptions> = {}): TaskStatusClient {
  const created = new TaskStatusClient({
    baseUrl: backend().baseUrl,
    userId: 2,
    token: 'tok',
    heartbeat: HEARTBEAT,
    connectTimeoutMs: 500,
    reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    ...options,
  });
  clients.push(created);
  return created;
}

/** Every `error` event, with the time it came. */
function failures(c: TaskStatusClient): { error: TaskStatusError; at: number }[] {
  const seen: { error: TaskStatusError; at: number }[] = [];
  c.on('error', (error) => seen.push({ error, at: performance.now() }));
  return seen;
}

function failure(c: TaskStatusClient, code: string): Promise<TaskStatusError> {
  return new Promise((resolve) => c.on('error', (error) => error.code === code && resolve(error)));
}

function reconnecting(c: TaskStatusClient, attempt: number): Promise<void> {
  return new Promise((resolve) =>
    c.on('reconnecting', (info) => info.attempt === attempt && resolve()),
  );
}

describe('from Node, over a link that fails in the kernel', () => {
  it('finds a link gone down within intervalMs + timeoutMs, and with resync loses nothing', async () => {
    const server = backend();
    const states = new Map<number, ResyncUpdate>();
    let seconds = 0;
    const advance = (taskId: number, status: string) => {
      seconds += 1;
      states.set(taskId, { taskId, status, updatedAt: at(seconds) });
      return taskFrame(taskId, status, { updated_at: at(seconds) });
    };
    const c = client({ resync: () => [...states.values()] });
    const log = connectionLog(c);
    const seen = failures(c);
    const tasks: string[] = [];
    c.on('task', ({ taskId, status }) => tasks.push(`${taskId} ${status}`));
    await c.connect();
    server.sockets[0]?.send(advance(7, 'running'));
    await expect.poll(() => c.getTask(7)?.status).toBe('running');
    await nextEvent(c, 'heartbeat'); // pongs come back: the last frame before the cut
    const timedOut = failure(c, 'HEARTBEAT_TIMEOUT');
    const retried = reconnecting(c, 2);
    const resynced = nextEvent<[{ applied: number; stale: number }]>(c, 'resynced');

    const downAt = performance.now();
    await net().linkDown();
    server.sockets[0]?.send(advance(7, 'completed')); // lost with the link
    await timedOut;
    const detectedMs = performance.now() - downAt;
    await retried; // an attempt failed while the link was down
    await net().linkUp();
    const [resync] = await resynced;

    expect(detectedMs).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);
    const codes = seen.map(({ error }) => error.code);
    expect(codes[0]).toBe('HEARTBEAT_TIMEOUT');
    // SYNs vanish (a timeout), or the next hop's ARP fails first (EHOSTUNREACH).
    expect(codes.slice(1).length).toBeGreaterThanOrEqual(1);
    for (const code of codes.slice(1))
      expect(['HANDSHAKE_TIMEOUT', 'CONNECTION_ERROR']).toContain(code);
    // The final status came through resync alone, once, and nothing twice.
    expect(resync).toEqual({ applied: 1, stale: 0 });
    expect(tasks).toEqual(['7 running', '7 completed']);
    expect(log.filter((entry) => entry === 'open')).toHaveLength(2);
    expect(openProblems(log)).toEqual([]);
    // Nothing is left of the dead socket: once the link is back, the server's end goes too.
    await expect
      .poll(() => server.sockets.filter((ws) => ws.readyState === ws.OPEN).length, {
        timeout: 10_000,
      })
      .toBe(1);
  });

  it('bounds each attempt at a blackholed address, backs off, and stops at maxInitialAttempts', async () => {
    await net().blackhole();
    const starts: number[] = [];
    class RecordingWebSocket extends NodeWebSocket {
      constructor(url: string) {
        super(url);
        starts.push(performance.now());
      }
    }
    const c = client({
      WebSocket: RecordingWebSocket,
      connectTimeoutMs: 200,
      reconnect: { initialDelayMs: 50, maxDelayMs: 100, maxInitialAttempts: 2, jitter: 'none' },
    });
    const seen = failures(c);
    const delays: number[] = [];
    c.on('reconnecting', ({ delayMs }) => delays.push(delayMs));

    const error = await rejection(c.connect());

    expect(error.code).toBe('RECONNECT_EXHAUSTED');
    expect(error.message).toContain('without ever connecting');
    expect(seen.map(({ error }) => error.code)).toEqual([
      'HANDSHAKE_TIMEOUT',
      'HANDSHAKE_TIMEOUT',
      'HANDSHAKE_TIMEOUT',
      'RECONNECT_EXHAUSTED',
    ]);
    // The first socket and maxInitialAttempts more, each given twice the time of the last.
    expect(starts).toHaveLength(3);
    expect(delays).toEqual([50, 100]);
    [200, 400, 800].forEach((deadlineMs, i) => {
      const attempt = seen[i] as { error: TaskStatusError; at: number };
      expect(attempt.error.message).toContain(`after ${deadlineMs} ms`);
      const tookMs = attempt.at - (starts[i] as number);
      expect(tookMs).toBeGreaterThanOrEqual(deadlineMs - 2);
      expect(tookMs).toBeLessThanOrEqual(deadlineMs + SLACK_MS);
      if (i < 2) {
        const waitedMs = (starts[i + 1] as number) - attempt.at;
        expect(waitedMs).toBeGreaterThanOrEqual((delays[i] as number) - 2);
        expect(waitedMs).toBeLessThanOrEqual((delays[i] as number) + SLACK_MS);
      }
    });
    expect(backend().sockets).toHaveLength(0);
  });

  it('connects once a blackholed address answers again', async () => {
    await net().blackhole();
    const c = client({
      connectTimeoutMs: 200,
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const seen = failures(c);
    // The wait is long: the address comes back during it, and `reconnect()` ends it.
    c.once(
      'reconnecting',
      () =>
        void net()
          .heal()
          .then(() => c.reconnect()),
    );

    await c.connect();

    expect(seen.map(({ error }) => error.code)).toEqual(['HANDSHAKE_TIMEOUT']);
    expect(backend().sockets).toHaveLength(1);
  });

  it.each([
    ['an unreachable route', 'unreachable', 'EHOSTUNREACH'],
    ['no route at all', 'throw', 'ENETUNREACH'],
  ] as const)(
    'fails at once with %s, retries with backoff, and says why',
    async (_, kind, code) => {
      await net().unroute(kind);
      const c = client({
        connectTimeoutMs: 5_000,
        reconnect: { initialDelayMs: 50, maxDelayMs: 100, maxInitialAttempts: 2 },
      });
      const seen = failures(c);
      const started = performance.now();

      const error = await rejection(c.connect());

      // Well within one connect deadline: the kernel said no at once, every time.
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(error.code).toBe('RECONNECT_EXHAUSTED');
      expect(error.message).toContain(code);
      const attempts = seen.slice(0, -1).map(({ error }) => error);
      expect(attempts.map(({ code }) => code)).toEqual(Array(3).fill('CONNECTION_ERROR'));
      for (const attempt of attempts) {
        expect(attempt.message).toContain(`${code} ${net().serverIp}`);
        expect(attempt.closeCode).toBe(1006);
      }
    },
  );

  it('closes a dead link within the grace, aborts a blackholed connect, and the process exits', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, backend().baseUrl], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    const exited = new Promise<number>((resolve) =>
      child.once('exit', () => resolve(performance.now())),
    );
    const lines: string[] = [];
    let lastLineAt = 0;
    const output = createInterface({ input: child.stdout });
    const first = once(output, 'line');
    output.on('line', (line: string) => {
      lines.push(line);
      lastLineAt = performance.now();
    });
    await first; // `open`
    await net().blackhole(); // the open socket's link and new connects at once
    child.stdin.write('cut\n');

    const exitAt = await exited;

    expect(lines).toEqual([
      'open',
      expect.stringMatching(/^closed \d+$/),
      'state connecting',
      expect.stringMatching(/^aborted \d+ ABORTED$/),
    ]);
    const [closeMs, abortMs] = [lines[1], lines[3]].map((line) => Number(line?.split(' ')[1]));
    // No closing handshake over a dead link: `close()` waited out its grace, and no more.
    expect(closeMs).toBeGreaterThanOrEqual(CLOSE_GRACE_MS - 50);
    expect(closeMs).toBeLessThanOrEqual(CLOSE_GRACE_MS + SLACK_MS);
    expect(abortMs).toBeLessThanOrEqual(SLACK_MS);
    // Nothing kept it alive: no timer, no socket (`ws` holds a closing one for 30 s).
    expect(exitAt - lastLineAt).toBeLessThan(1_000);
    expect(child.exitCode).toBe(0);
  });
});

describe('from Chromium, to a FastAPI backend on uvicorn, over a link that fails', () => {
  it('finds a link gone down within intervalMs + timeoutMs, reconnects, and closes a dead one', async () => {
    const fastapi = await startBackend({ netns: net().namespace, host: net().serverIp });
    const page = await chromium.newPage();
    await page.exposeFunction('network', (action: 'linkDown' | 'linkUp') => net()[action]());
    await page.addScriptTag({ content: chromium.sdk });

    const seen = await page.evaluate(
      async ({ baseUrl, token, heartbeat }) => {
        const globals = window as unknown as {
          TaskStatus: typeof import('../../src/index.js');
          network(action: 'linkDown' | 'linkUp'): Promise<void>;
        };
        const client = new globals.TaskStatus.TaskStatusClient({
          baseUrl,
          userId: 2,
          token,
          heartbeat,
          connectTimeoutMs: 500,
          reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
        });
        const errors: string[] = [];
        let opens = 0;
        let updates = 0;
        client.on('error', ({ code }) => errors.push(code));
        client.on('open', () => opens++);
        client.on('task', () => updates++);
        const next = <T>(event: string, test: (value: T) => boolean = () => true) =>
          new Promise<void>((resolve) => {
            const listener = (value: T) => {
              if (!test(value)) return;
              client.off(event as 'open', listener as () => void);
              resolve();
            };
            client.on(event as 'open', listener as () => void);
          });

        await client.connect();
        await next('heartbeat');
        const timedOut = next<{ code: string }>(
          'error',
          ({ code }) => code === 'HEARTBEAT_TIMEOUT',
        );
        const retried = next<{ attempt: number }>('reconnecting', ({ attempt }) => attempt === 2);
        const downAt = performance.now();
        await globals.network('linkDown');
        await timedOut;
        const detectedMs = performance.now() - downAt;
        await retried;
        const reopened = next('open');
        await globals.network('linkUp');
        await reopened;
        const before = updates;
        await next('task');
        const updatesAgain = updates - before;

        // A browser cannot drop a socket: on a dead link its closing handshake never ends.
        await globals.network('linkDown');
        const closeAt = performance.now();
        await client.close();
        const closeMs = performance.now() - closeAt;
        return { detectedMs, closeMs, errors, opens, updatesAgain, state: client.state };
      },
      { baseUrl: fastapi.baseUrl, token: fastapi.tokens.good, heartbeat: HEARTBEAT },
    );

    expect(seen.detectedMs).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);
    expect(seen.errors[0]).toBe('HEARTBEAT_TIMEOUT');
    expect(seen.errors.length).toBeGreaterThanOrEqual(2);
    for (const code of seen.errors.slice(1)) {
      expect(['HANDSHAKE_TIMEOUT', 'CONNECTION_ERROR']).toContain(code);
    }
    expect(seen.opens).toBe(2);
    expect(seen.updatesAgain).toBeGreaterThanOrEqual(1);
    // The client stopped waiting at its grace, and left the socket to the browser.
    expect(seen.closeMs).toBeGreaterThanOrEqual(CLOSE_GRACE_MS - 50);
    expect(seen.closeMs).toBeLessThanOrEqual(CLOSE_GRACE_MS + SLACK_MS);
    expect(seen.state).toBe('closed');
  });
});
