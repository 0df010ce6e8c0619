/**
 * The browser's `online` event on an open connection, in real Chromium: Playwright takes the
 * page offline and back, and the client checks the link at once with a ping instead of waiting
 * out its heartbeat interval (a minute here).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startTaskStatusServer, type TaskStatusServer } from '../../src/testing/index.js';
import { setupChromium } from './harness.js';

const chromium = setupChromium();
let server: TaskStatusServer | undefined;
let context: BrowserContext | undefined;

afterEach(async () => {
  await context?.close();
  context = undefined;
  await server?.close();
  server = undefined;
});

/** What the page's client did after the network came back. */
interface AfterOnline {
  /** The first of `heartbeat` (a pong) or `reconnecting`, and its detail. */
  readonly first: 'heartbeat' | 'reconnecting';
  readonly detail: string;
  /** From the `online` event to that first event. */
  readonly afterMs: number;
  /** Whether the client was open again, on its old socket or a new one. */
  readonly open: boolean;
}

/** Opens a page whose client (heartbeat every minute) is connected to `server`. */
async function connectedPage(base: string): Promise<Page> {
  context = await chromium.browser.newContext();
  const page = await context.newPage();
  await page.addScriptTag({ content: chromium.sdk });
  await page.evaluate(async (baseUrl) => {
    const { TaskStatusClient } = (
      window as unknown as { TaskStatus: typeof import('../../src/index.js') }
    ).TaskStatus;
    const client = new TaskStatusClient({
      baseUrl,
      userId: 2,
      token: 'tok',
      heartbeat: { intervalMs: 60_000, timeoutMs: 500 },
      reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
    });
    await client.connect();
    const afterOnline = new Promise<AfterOnline>((resolve) => {
      window.addEventListener('online', () => {
        const at = performance.now();
        const settle = (first: AfterOnline['first'], detail: string) => {
          const afterMs = performance.now() - at;
          const report = () => resolve({ first, detail, afterMs, open: client.state === 'open' });
          if (client.state === 'open') report();
          else client.once('open', report);
        };
        client.once('heartbeat', ({ rttMs }) => settle('heartbeat', `rtt ${rttMs >= 0}`));
        client.once('reconnecting', ({ reason }) => settle('reconnecting', reason.code));
      });
    });
    (window as unknown as { afterOnline: Promise<AfterOnline> }).afterOnline = afterOnline;
  }, base);
  return page;
}

async function offlineAndBack(page: Page): Promise<AfterOnline> {
  await context?.setOffline(true);
  await context?.setOffline(false);
  return page.evaluate(
    () => (window as unknown as { afterOnline: Promise<AfterOnline> }).afterOnline,
  );
}

describe('the online event on an open connection, in Chromium', () => {
  it('checks the link at once, and keeps a live one', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    const page = await connectedPage(server.url);

    const after = await offlineAndBack(page);

    expect(after).toMatchObject({ first: 'heartbeat', detail: 'rtt true', open: true });
    expect(after.afterMs).toBeLessThan(10_000);
    expect(server.connections).toHaveLength(1);
  });

  it('finds a link that died meanwhile within timeoutMs, not a heartbeat interval later', async () => {
    server = await startTaskStatusServer({ tokens: { tok: 2 } });
    const page = await connectedPage(server.url);
    // The server keeps the socket and sends nothing more on it, as a dead link does.
    server.silence();

    const after = await offlineAndBack(page);

    expect(after).toMatchObject({ first: 'reconnecting', detail: 'HEARTBEAT_TIMEOUT', open: true });
    expect(after.afterMs).toBeLessThan(10_000);
    expect(server.connections).toHaveLength(2);
  });
});
