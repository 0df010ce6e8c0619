/**
 * A page left for another and restored from the back/forward cache, in real Chromium. Chromium
 * closes the page's sockets as it enters the cache (the server sees 1001) and runs the page's
 * code again only on its return, when the client learns of the close: it must then reconnect as
 * after a drop, with one live socket, no auth error, its task table kept, and a pending
 * `connect()` still settled, with no unhandled rejection.
 */
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startTaskStatusServer, type TaskStatusServer } from '../../src/testing/index.js';
import { setupChromium } from './harness.js';

const chromium = setupChromium({ backForwardCache: true });
let server: TaskStatusServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface PageGlobals {
  TaskStatus: typeof import('../../src/index.js');
  client: import('../../src/index.js').TaskStatusClient;
  /** What the page and its client did, in order. */
  seen: string[];
}

/**
 * Opens a page of the server's own origin and starts a client there, without waiting for it to
 * connect.
 */
async function pageWithClient(base: string): Promise<Page> {
  const page = await chromium.newPage();
  await page.goto(`${base}/health?page=first`);
  await page.addScriptTag({ content: chromium.sdk });
  await page.evaluate((baseUrl) => {
    const globals = window as unknown as PageGlobals;
    const seen: string[] = [];
    globals.seen = seen;
    window.addEventListener('pageshow', ({ persisted }) => seen.push(`pageshow ${persisted}`));
    window.addEventListener('unhandledrejection', ({ reason }) =>
      seen.push(`unhandled ${String(reason)}`),
    );
    const client = new globals.TaskStatus.TaskStatusClient({
      baseUrl,
      userId: 2,
      token: 'tok',
      reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
    });
    client.on('open', ({ reconnected }) => seen.push(`open ${reconnected}`));
    client.on('authError', () => seen.push('authError'));
    client.on('error', ({ code }) => seen.push(`error ${code}`));
    globals.client = client;
    client.connect().then(
      () => seen.push('connect resolved'),
      ({ code }: { code: string }) => seen.push(`connect rejected ${code}`),
    );
  }, base);
  return page;
}

/** Leaves the page for another of the same origin, then goes back to it. */
async function awayAndBack(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/health?page=second`);
  // A page restored from the cache fires no `load`.
  await page.goBack({ waitUntil: 'commit' });
}

/** Resolves with what the page saw once it saw `line`. */
async function saw(page: Page, line: string): Promise<string[]> {
  await page.waitForFunction(
    (expected) => (window as unknown as PageGlobals).seen.includes(expected),
    line,
    { timeout: 10_000, polling: 20 },
  );
  return page.evaluate(() => (window as unknown as PageGlobals).seen);
}

describe('a page restored from the back/forward cache, in Chromium', () => {
  it('reconnects an open client at once, keeping its tasks', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    const page = await pageWithClient(server.url);
    await saw(page, 'open false');
    server.pushUpdate(2, { taskId: 7, status: 'running' });
    await page.waitForFunction(() => (window as unknown as PageGlobals).client.getTask(7));

    await awayAndBack(page, server.url);
    const seen = await saw(page, 'open true');
    const task = await page.evaluate(
      () => (window as unknown as PageGlobals).client.getTask(7)?.status,
    );

    expect(seen).toContain('pageshow true');
    expect(seen.slice(seen.indexOf('pageshow true'))).toEqual([
      'pageshow true',
      'error CONNECTION_LOST',
      'open true',
    ]);
    expect(task).toBe('running');
    expect(server.connections.map(({ state, closeCode }) => [state, closeCode])).toEqual([
      ['closed', 1001],
      ['open', null],
    ]);
  });

  it('settles a connect() that was under way when the page left', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    // The first upgrade hangs, so the page leaves while the client is still connecting.
    server.handshakeDelayMs = 60_000;
    const page = await pageWithClient(server.url);
    await page.waitForFunction(
      () => (window as unknown as PageGlobals).client.state === 'connecting',
    );
    server.handshakeDelayMs = 0;

    await awayAndBack(page, server.url);
    const seen = await saw(page, 'connect resolved');

    expect(seen).toContain('pageshow true');
    expect(seen.filter((line) => line.startsWith('unhandled') || line === 'authError')).toEqual([]);
    expect(server.clients).toHaveLength(1);
  });
});
