/**
 * A socket that the page's Content-Security-Policy blocks (`connect-src` without the backend),
 * seen from real Chromium: it fires `error` and reads as closed, but fires no `close` event. The
 * client must end that attempt at once as a close 1006, as for any socket that fails to open,
 * not wait for its connect deadline.
 */
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { connectInPage, expectOpaqueRefusals, setupChromium } from './harness.js';

const chromium = setupChromium();
let server: TestServer | undefined;
let page: Page | undefined;

afterEach(async () => {
  await page?.close();
  page = undefined;
  await server?.close();
  server = undefined;
});

describe('a WebSocket blocked by the page CSP, in Chromium', () => {
  it('fails each attempt at once with CONNECTION_ERROR, then gives up after maxInitialAttempts', async () => {
    server = await startWsServer();
    page = await chromium.browser.newPage();
    await page.route('http://app.test/**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        headers: { 'content-security-policy': "connect-src 'self'" },
        body: '<!doctype html><title>app</title>',
      }),
    );
    await page.goto('http://app.test/');
    const outcome = await connectInPage(page, chromium.sdk, {
      baseUrl: server.baseUrl,
      token: 'secret-token',
      // Without a close event, each attempt would last until this deadline (3 s, then 6 s).
      options: {
        connectTimeoutMs: 3_000,
        reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxInitialAttempts: 1 },
      },
    });

    expect(server.requests).toEqual([]);
    expect(outcome.errors.map(({ code }) => code)).toEqual([
      'CONNECTION_ERROR',
      'CONNECTION_ERROR',
      'RECONNECT_EXHAUSTED',
    ]);
    expectOpaqueRefusals(outcome, 2, 'secret-token');
    expect(outcome.rejected.code).toBe('RECONNECT_EXHAUSTED');
    expect(outcome.state).toBe('closed');
  });
});
