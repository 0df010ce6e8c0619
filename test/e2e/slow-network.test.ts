/**
 * The client on a slow network, in real Chromium, against the FastAPI backend on uvicorn.
 *
 * A real round trip comes from a TCP proxy that delays both ways (`slow-link.ts`): Chromium's
 * own emulation delays only the upgrade, and passes WebSocket frames at once. On such a link a
 * browser fires `close` a round trip after the server's close frame arrived, once the closing
 * handshake is over: a refusal's close then comes well after its error frame.
 */
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { killBackends, startBackend } from './fastapi/backend.js';
import { connectInPage, setupChromium } from './harness.js';
import { type SlowLink, startSlowLink } from './slow-link.js';

const chromium = setupChromium();
let link: SlowLink | undefined;

afterEach(async () => {
  await link?.close();
  link = undefined;
  await killBackends();
});

/** What a client with default options did first after `connect()` resolved. */
interface AfterConnect {
  readonly first: 'authError' | 'reconnecting';
  /** The auth error's message, or the reason's code of the reconnect. */
  readonly detail: string | null;
  readonly closeCode: number | undefined;
  /** The codes of the `error` events before it. */
  readonly errors: string[];
}

/** Connects a client with default options in `page`, and reports what it did next. */
function afterConnect(page: Page, baseUrl: string, token: string): Promise<AfterConnect> {
  return page.evaluate(
    async ({ baseUrl, token }) => {
      const { TaskStatusClient } = (
        window as unknown as { TaskStatus: typeof import('../../src/index.js') }
      ).TaskStatus;
      const client = new TaskStatusClient({ baseUrl, userId: 2, token });
      const errors: string[] = [];
      client.on('error', ({ code }) => errors.push(code));
      const next = new Promise<AfterConnect>((resolve) => {
        client.once('authError', ({ message, closeCode }) =>
          resolve({ first: 'authError', detail: message, closeCode, errors: [...errors] }),
        );
        client.once('reconnecting', ({ reason }) =>
          resolve({
            first: 'reconnecting',
            detail: reason.code,
            closeCode: reason.closeCode,
            errors: [...errors],
          }),
        );
      });
      await client.connect();
      const seen = await next;
      await client.close();
      return seen;
    },
    { baseUrl, token },
  );
}

describe('a link with a 1.4 s round trip, from Chromium', () => {
  it('connects with default options, streams updates and answers heartbeats', async () => {
    const backend = await startBackend();
    link = await startSlowLink(backend.port, 700);
    const page = await chromium.newPage();

    const outcome = await connectInPage(page, chromium.sdk, {
      baseUrl: link.baseUrl,
      token: backend.tokens.good,
      options: { heartbeat: { intervalMs: 100, timeoutMs: 10_000 } },
      updates: 1,
    });

    expect(outcome.rejected.code).toBe('none');
    expect(outcome.errors).toEqual([]);
    expect(outcome.updates).toHaveLength(1);
    // The frames themselves cross the slow link.
    expect(outcome.rttMs).toBeGreaterThanOrEqual(1_400);
  });

  it('reads a token check slower than authGraceMs, then its refusal, as AUTH_FAILED', async () => {
    const backend = await startBackend({ authDelay: 1.2, quiet: true });
    link = await startSlowLink(backend.port, 700);
    const page = await chromium.newPage();
    await page.addScriptTag({ content: chromium.sdk });

    // connect() resolves on a second of quiet; the error frame and the close come after it.
    const seen = await afterConnect(page, link.baseUrl, backend.tokens.expired);

    expect(seen).toEqual({
      first: 'authError',
      detail: 'Invalid token',
      closeCode: 1000,
      errors: [],
    });
  });
});
