/**
 * The browser's `online` and `offline` events on an open connection, in real Chromium:
 * Playwright takes the page offline and back, and the client checks the link at once with a ping
 * instead of waiting out its heartbeat interval (a minute here). An event during the auth
 * verdict has the link checked as soon as the token counts as accepted.
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

/** What the page's client did first after a window event. */
interface AfterEvent {
  /** The first of `heartbeat` (a pong) or `reconnecting`; `none` when a test's bound came first. */
  readonly first: 'heartbeat' | 'reconnecting' | 'none';
  /** `rtt true` for a pong; for `reconnecting`, the reason's code and the `offline` flag. */
  readonly detail: string;
  /** From the event to that first client event. */
  readonly afterMs: number;
  /** The client's state right then. */
  readonly state: string;
}

interface PageGlobals {
  TaskStatus: typeof import('../../src/index.js');
  client: import('../../src/index.js').TaskStatusClient;
  /** What the client did first after the window's next `online` or `offline` event. */
  after: Record<'online' | 'offline', Promise<AfterEvent>>;
}

/** Opens a page whose client (heartbeat every minute) is connected to `server`. */
async function connectedPage(base: string): Promise<Page> {
  const page = await chromium.newPage();
  await page.addScriptTag({ content: chromium.sdk });
  await page.evaluate(async (baseUrl) => {
    const globals = window as unknown as PageGlobals;
    const client = new globals.TaskStatus.TaskStatusClient({
      baseUrl,
      userId: 2,
      token: 'tok',
      heartbeat: { intervalMs: 60_000, timeoutMs: 500 },
      reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
    });
    await client.connect();
    globals.client = client;
    const firstAfter = (event: 'online' | 'offline') =>
      new Promise<AfterEvent>((resolve) => {
        window.addEventListener(
          event,
          () => {
            const at = performance.now();
            const settle = (first: AfterEvent['first'], detail: string) =>
              resolve({ first, detail, afterMs: performance.now() - at, state: client.state });
            client.once('heartbeat', ({ rttMs }) => settle('heartbeat', `rtt ${rttMs >= 0}`));
            client.once('reconnecting', ({ reason, offline }) =>
              settle('reconnecting', `${reason.code} offline ${offline}`),
            );
          },
          { once: true },
        );
      });
    globals.after = { online: firstAfter('online'), offline: firstAfter('offline') };
  }, base);
  return page;
}

function whatFollowed(page: Page, event: 'online' | 'offline'): Promise<AfterEvent> {
  return page.evaluate((name) => (window as unknown as PageGlobals).after[name], event);
}

/** Resolves once the page's client is open (again). */
function reopened(page: Page): Promise<void> {
  return page.evaluate(async () => {
    const { client } = window as unknown as PageGlobals;
    if (client.state !== 'open') await new Promise((resolve) => client.once('open', resolve));
  });
}

describe('the online event on an open connection, in Chromium', () => {
  it('checks the link at once, and keeps a live one', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    const page = await connectedPage(server.url);

    await page.context().setOffline(true);
    await page.context().setOffline(false);
    const seen = await whatFollowed(page, 'online');

    expect(seen).toMatchObject({ first: 'heartbeat', detail: 'rtt true', state: 'open' });
    expect(seen.afterMs).toBeLessThan(10_000);
    expect(server.connections).toHaveLength(1);
  });

  it('finds a link that died meanwhile within timeoutMs, not a heartbeat interval later', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    const page = await connectedPage(server.url);
    // The server keeps the socket and sends nothing more on it, as a dead link does.
    server.silence();

    await page.context().setOffline(true);
    await page.context().setOffline(false);
    const seen = await whatFollowed(page, 'online');
    await reopened(page);

    expect(seen).toMatchObject({
      first: 'reconnecting',
      detail: 'HEARTBEAT_TIMEOUT offline false',
    });
    expect(seen.afterMs).toBeLessThan(10_000);
    expect(server.connections).toHaveLength(2);
  });
});

describe('the offline event on an open connection, in Chromium', () => {
  it('finds a link that died as the network went, then waits for online to reconnect', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    const page = await connectedPage(server.url);
    server.silence();

    await page.context().setOffline(true);
    const seen = await whatFollowed(page, 'offline');

    // Found within timeoutMs, and the retry waits for the network, not for a timer.
    expect(seen).toMatchObject({
      first: 'reconnecting',
      detail: 'HEARTBEAT_TIMEOUT offline true',
      state: 'reconnecting',
    });
    expect(seen.afterMs).toBeLessThan(10_000);
    await page.context().setOffline(false);
    await reopened(page);
    expect(server.connections).toHaveLength(2);
  });

  it('keeps a live link when the event was a false alarm', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    const page = await connectedPage(server.url);

    // Browsers fire `offline` for changes that leave the link up (a VPN, a second network).
    await page.evaluate(() => window.dispatchEvent(new Event('offline')));
    const seen = await whatFollowed(page, 'offline');

    expect(seen).toMatchObject({ first: 'heartbeat', detail: 'rtt true', state: 'open' });
    expect(seen.afterMs).toBeLessThan(10_000);
    expect(server.connections).toHaveLength(1);
  });
});

describe('the offline event during the auth verdict, in Chromium', () => {
  it('checks the link once the token counts as accepted, and waits for online to reconnect', async () => {
    // No ack: the verdict is presumed from a second of quiet, which a network gone gives too.
    server = await startTaskStatusServer({ tokens: { tok: 2 }, ack: false, heartbeat: false });
    const page = await chromium.newPage();
    await page.addScriptTag({ content: chromium.sdk });
    await page.evaluate(async (baseUrl) => {
      const globals = window as unknown as PageGlobals;
      let opened: () => void = () => {};
      const socketOpen = new Promise<void>((resolve) => {
        opened = resolve;
      });
      // The page's own WebSocket, which says when the socket opens: the verdict wait begins then.
      class Observed extends WebSocket {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          this.addEventListener('open', () => opened(), { once: true });
        }
      }
      const client = new globals.TaskStatus.TaskStatusClient({
        baseUrl,
        userId: 2,
        token: 'tok',
        WebSocket: Observed,
        heartbeat: { intervalMs: 60_000, timeoutMs: 500 },
        reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
      });
      globals.client = client;
      void client.connect();
      const accepted = new Promise<number>((resolve) =>
        client.once('open', () => resolve(performance.now())),
      );
      // What the client does first once the token counts as accepted; nothing within 5 s is a
      // link left unchecked until the next ping, a minute later.
      const unchecked = accepted.then(
        (at) =>
          new Promise<AfterEvent>((resolve) => {
            const settle = (first: AfterEvent['first'], detail: string) =>
              resolve({ first, detail, afterMs: performance.now() - at, state: client.state });
            client.once('heartbeat', ({ rttMs }) => settle('heartbeat', `rtt ${rttMs >= 0}`));
            client.once('reconnecting', ({ reason, offline }) =>
              settle('reconnecting', `${reason.code} offline ${offline}`),
            );
            setTimeout(() => settle('none', 'nothing'), 5_000);
          }),
      );
      globals.after = { offline: unchecked, online: unchecked };
      await socketOpen;
    }, server.url);

    await page.context().setOffline(true);
    const seen = await whatFollowed(page, 'offline');

    expect(seen).toMatchObject({
      first: 'reconnecting',
      detail: 'HEARTBEAT_TIMEOUT offline true',
      state: 'reconnecting',
    });
    await page.context().setOffline(false);
    await reopened(page);
    expect(server.connections).toHaveLength(2);
  });
});
