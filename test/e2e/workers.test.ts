/**
 * The client inside a dedicated Worker and a SharedWorker in real Chromium, where there is no
 * `window` and no `document` (a SharedWorker is how tabs share one socket). The worker runs the
 * SDK bundle and posts what its client does to the page, which the test reads.
 *
 * Chromium's workers update `navigator.onLine` but fire no `online` or `offline` event, so a
 * reconnect there must not wait for `online`.
 */
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startTaskStatusServer, type TaskStatusServer } from '../../src/testing/index.js';
import { setupChromium } from './harness.js';

const chromium = setupChromium();
let server: TaskStatusServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

type WorkerKind = 'Worker' | 'SharedWorker';

/** The page's side: what the worker's client reported, and a way to ask it to close. */
interface PageGlobals {
  reports: string[];
  closeClient(): void;
}

/**
 * The worker's own code, after the SDK bundle: a client whose events are posted as lines of text.
 * `post` reaches the page (a dedicated worker's `postMessage`, or a SharedWorker's port).
 */
function workerMain(baseUrl: string, post: (line: string) => void): (message: unknown) => void {
  const { TaskStatusClient } = (
    globalThis as unknown as { TaskStatus: typeof import('../../src/index.js') }
  ).TaskStatus;
  const client = new TaskStatusClient({
    baseUrl,
    userId: 2,
    token: 'tok',
    heartbeat: { intervalMs: 400, timeoutMs: 300 },
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  post(
    `scope ${typeof (globalThis as { window?: unknown }).window} ${typeof (globalThis as { document?: unknown }).document}`,
  );
  client.on('open', ({ reconnected }) => post(`open ${reconnected}`));
  client.on('task', ({ taskId, status }) => post(`task ${taskId} ${status}`));
  client.on('heartbeat', () => post('heartbeat'));
  client.on('reconnecting', ({ reason, offline }) =>
    post(`reconnecting ${reason.code} offline ${offline}`),
  );
  client.on('state', (state) => post(`state ${state}`));
  client.connect().catch((error: { code: string }) => post(`rejected ${error.code}`));
  return (message) => {
    if (message === 'close') void client.close().then(() => post(`closed ${client.state}`));
  };
}

/**
 * How each kind of worker runs {@link workerMain} and talks to the page. A dedicated worker posts
 * to its page. A SharedWorker posts to every page connected to it, each getting the lines posted
 * before it connected first; messages from any of them reach the client.
 */
const WORKER_WRAPPERS: Record<WorkerKind, (main: string) => string> = {
  Worker: (main) => `const handle = ${main}((line) => postMessage(line));
onmessage = (event) => handle(event.data);`,
  SharedWorker: (main) => `const ports = [];
const lines = [];
const handle = ${main}((line) => {
  lines.push(line);
  for (const port of ports) port.postMessage(line);
});
onconnect = (event) => {
  const port = event.ports[0];
  for (const line of lines) port.postMessage(line);
  ports.push(port);
  port.onmessage = (message) => handle(message.data);
};`,
};

/**
 * Opens a page of the server's own origin (a SharedWorker needs one that is not opaque) and starts
 * the client in a worker of `kind` there.
 */
async function clientInWorker(kind: WorkerKind, base: string): Promise<Page> {
  const page = await chromium.newPage();
  await page.goto(`${base}/health`);
  const main = `((post) => (${workerMain})(${JSON.stringify(base)}, post))`;
  const script = `${chromium.sdk}\n${WORKER_WRAPPERS[kind](main)}`;
  await page.evaluate(
    ([source, which]) => {
      const globals = window as unknown as PageGlobals;
      globals.reports = [];
      const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      const record = (event: MessageEvent) => globals.reports.push(String(event.data));
      if (which === 'Worker') {
        const worker = new Worker(url);
        worker.onmessage = record;
        worker.onerror = (event) => globals.reports.push(`worker error ${event.message}`);
        globals.closeClient = () => worker.postMessage('close');
      } else {
        const worker = new SharedWorker(url);
        worker.port.onmessage = record;
        worker.onerror = () => globals.reports.push('worker error');
        globals.closeClient = () => worker.port.postMessage('close');
      }
    },
    [script, kind] as const,
  );
  return page;
}

/** Resolves with the worker's reports once one of them starts with `line`. */
async function reported(page: Page, line: string): Promise<string[]> {
  await page.waitForFunction(
    (expected) =>
      (window as unknown as PageGlobals).reports.some((report) => report.startsWith(expected)),
    line,
    { timeout: 10_000, polling: 20 },
  );
  return page.evaluate(() => (window as unknown as PageGlobals).reports);
}

describe.each<WorkerKind>(['Worker', 'SharedWorker'])('the client in a %s, in Chromium', (kind) => {
  it('connects, follows tasks, beats, reconnects after a drop and closes, with no window', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    const page = await clientInWorker(kind, server.url);
    await reported(page, 'open false');
    server.pushUpdate(2, { taskId: 7, status: 'running' });
    await reported(page, 'task 7 running');
    await reported(page, 'heartbeat');
    server.closeAll(1012, 'restart');
    await reported(page, 'open true');
    await page.evaluate(() => (window as unknown as PageGlobals).closeClient());
    const reports = await reported(page, 'closed closed');

    expect(reports[0]).toBe('scope undefined undefined');
    expect(reports).toContain('reconnecting CONNECTION_LOST offline false');
    expect(reports.filter((line) => line.startsWith('worker error'))).toEqual([]);
    expect(server.connections).toHaveLength(2);
    expect(server.clients).toHaveLength(0);
  });

  it('reconnects once the network is back, though the worker gets no online event', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    const page = await clientInWorker(kind, server.url);
    await reported(page, 'open false');
    // The link dies as the network goes: the heartbeat finds it while the worker is offline.
    server.silence();
    await page.context().setOffline(true);
    const found = await reported(page, 'reconnecting HEARTBEAT_TIMEOUT');
    await page.context().setOffline(false);
    await reported(page, 'open true');

    // Offline, it retries on its backoff: an `online` event it waited for would never come.
    expect(found.find((line) => line.startsWith('reconnecting HEARTBEAT_TIMEOUT'))).toBe(
      'reconnecting HEARTBEAT_TIMEOUT offline false',
    );
    expect(server.connections.at(-1)?.state).toBe('open');
  });
});
