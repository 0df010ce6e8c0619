/**
 * The client in real Chromium against a real FastAPI backend on uvicorn (`fastapi/server.py`):
 * task updates and heartbeats for a good JWT, refusals after accept read from an error frame or
 * FastAPI's `{"detail": …}` (and after an ack), a token check that cannot be made (1013), and a
 * refusal before accept, which the browser shows as a bare close 1006. Last, the React example
 * app reaches the backend through its Vite dev proxy, as a developer's browser does.
 */
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { type BackendOptions, killBackends, startBackend } from './fastapi/backend.js';
import {
  connectInPage,
  expectOpaqueRefusals,
  recordPage,
  setupChromium,
  startExampleApp,
  waitForText,
} from './harness.js';

const chromium = setupChromium();
let page: Page | undefined;

afterEach(async () => {
  await page?.close();
  page = undefined;
  await killBackends();
});

/**
 * Starts a backend, connects a client to it in a fresh page with `token` (a key of the
 * backend's tokens), and reports how `connect()` ended, what was emitted, and, once open, the
 * first three updates and a heartbeat.
 */
async function runInChromium(options: BackendOptions, token: 'good' | 'expired') {
  const backend = await startBackend(options);
  page = await chromium.browser.newPage();
  const outcome = await connectInPage(page, chromium.sdk, {
    baseUrl: backend.baseUrl,
    token: backend.tokens[token],
    options: {
      heartbeat: { intervalMs: 100, timeoutMs: 2_000 },
      reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxInitialAttempts: 2 },
    },
    updates: 3,
  });
  return { outcome, tokens: backend.tokens };
}

describe('a FastAPI backend on uvicorn, from Chromium', () => {
  it('streams task updates and answers heartbeats for a good JWT', async () => {
    const { outcome } = await runInChromium({}, 'good');

    expect(outcome.rejected.code).toBe('none');
    expect(outcome.state).toBe('open');
    expect(outcome.errors).toEqual([]);
    expect(outcome.updates).toHaveLength(3);
    for (const update of outcome.updates) {
      expect(update).toEqual({
        taskId: expect.any(Number),
        status: expect.stringMatching(/^(running|completed)$/),
        updatedAt: expect.stringMatching(/\+00:00$/),
      });
    }
    expect(outcome.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('reads an error frame and Starlette default close 1000 as AUTH_FAILED, with no retry', async () => {
    const { outcome, tokens } = await runInChromium({ refuse: 'json' }, 'expired');

    expect(outcome.rejected).toEqual({
      code: 'AUTH_FAILED',
      message: 'The server refused the token: Invalid token',
    });
    expect(outcome.authErrors).toEqual([
      { message: 'Invalid token', closeCode: 1000, willRetry: false },
    ]);
    expect(outcome.reconnecting).toBe(0);
    expect(outcome.state).toBe('closed');
    expect(JSON.stringify(outcome)).not.toContain(tokens.expired);
  });

  it('stops at the refusal of a backend that acks first and checks the token after', async () => {
    const { outcome, tokens } = await runInChromium({ refuse: 'json', ackFirst: true }, 'expired');

    expect(outcome.authErrors).toEqual([
      { message: 'Invalid token', closeCode: 1000, willRetry: false },
    ]);
    expect(outcome.errors.map((error) => error.code)).toEqual(['AUTH_FAILED']);
    expect(outcome.reconnecting).toBe(0);
    expect(outcome.state).toBe('closed');
    expect(JSON.stringify(outcome)).not.toContain(tokens.expired);
  });

  it('reconnects after a token check that fails with 1013, and streams updates', async () => {
    const { outcome } = await runInChromium({ failChecks: 1 }, 'good');

    expect(outcome.rejected.code).toBe('none');
    expect(outcome.authErrors).toEqual([]);
    expect(outcome.errors).toEqual([
      expect.objectContaining({ code: 'SERVER_ERROR' }),
      expect.objectContaining({ code: 'CONNECTION_LOST', closeCode: 1013 }),
    ]);
    expect(outcome.reconnecting).toBe(1);
    expect(outcome.updates).toHaveLength(3);
    expect(outcome.state).toBe('open');
  });

  it('reads FastAPI\'s {"detail": …} frame, then close 1008, as AUTH_FAILED, the one error', async () => {
    const { outcome, tokens } = await runInChromium({ refuse: 'detail-1008' }, 'expired');

    expect(outcome.rejected).toEqual({
      code: 'AUTH_FAILED',
      message: 'The server refused the token: Could not validate credentials',
    });
    expect(outcome.errors.map((error) => error.code)).toEqual(['AUTH_FAILED']);
    expect(outcome.authErrors).toEqual([
      { message: 'Could not validate credentials', closeCode: 1008, willRetry: false },
    ]);
    expect(outcome.reconnecting).toBe(0);
    expect(JSON.stringify(outcome)).not.toContain(tokens.expired);
  });

  it('reads a close 4001 alone as AUTH_FAILED, its reason as the message', async () => {
    const { outcome } = await runInChromium({ refuse: 'close-4001' }, 'expired');

    expect(outcome.rejected).toEqual({
      code: 'AUTH_FAILED',
      message: 'The server refused the token (close 4001 "unauthorized")',
    });
    expect(outcome.authErrors).toEqual([
      { message: 'unauthorized', closeCode: 4001, willRetry: false },
    ]);
    expect(outcome.reconnecting).toBe(0);
  });

  it('sees a close before accept as 1006, retries it, then gives up after maxInitialAttempts', async () => {
    const { outcome, tokens } = await runInChromium({ refuse: 'before-accept' }, 'expired');

    expect(outcome.rejected.code).toBe('RECONNECT_EXHAUSTED');
    expect(outcome.reconnecting).toBe(2);
    expect(outcome.authErrors).toEqual([]);
    expectOpaqueRefusals(outcome, 3, tokens.expired);
    expect(outcome.state).toBe('closed');
    expect(JSON.stringify(outcome)).not.toContain(tokens.expired);
  });
});

describe('the React example app, through its Vite dev proxy to a FastAPI backend', () => {
  it.each([
    ['good', 'open', '[data-task-id="100"]'],
    ['expired', 'closed', '[data-testid=error][data-code=AUTH_FAILED]'],
  ] as const)('with the %s JWT: %s, showing %s', async (token, state, selector) => {
    const backend = await startBackend();
    const app = await startExampleApp('react-vite', backend.baseUrl);
    try {
      const context = await chromium.browser.newContext();
      await context.addInitScript((accessToken) => {
        localStorage.setItem('user_id', '2');
        localStorage.setItem('access_token', accessToken);
      }, backend.tokens[token]);
      page = await context.newPage();
      const log = recordPage(page);
      await page.goto(app.url);

      await page.waitForSelector(selector);
      await waitForText(page, '[data-testid=state]', state);
      expect(log.join('\n')).not.toContain(backend.tokens[token]);
      expect(app.logs.join('\n')).not.toContain('ECONNRESET');
    } finally {
      await page?.context().close();
      page = undefined;
      await app.close();
    }
  });
});
