/**
 * How a server refuses a token, seen from real Chromium.
 *
 * - Before accept (HTTP 403, as Starlette answers a route it does not have or a socket closed
 *   before `accept()`): the browser hides the status and shows close 1006, so the client cannot
 *   tell it from a network failure. It retries with backoff, says what a reasonless 1006 may
 *   hide, and gives up after `maxInitialAttempts` instead of looping.
 * - After accept (an error frame, then Starlette's default close 1000): the client reads the
 *   frame as the verdict and stops with `AUTH_FAILED`, with no retry for a plain-string token.
 * - Plain text that no close follows is no refusal but a greeting: the client opens.
 * - A `ws:` URL from an `https:` page makes the constructor throw: final at once, no retry.
 * - A socket the page's Content-Security-Policy blocks fails each attempt at once (Chromium sends
 *   no close event for it), and the client gives up after `maxInitialAttempts`.
 */
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { connectInPage, expectOpaqueRefusals, type PageOutcome, setupChromium } from './harness.js';

const chromium = setupChromium();
let server: TestServer | undefined;
let page: Page | undefined;

afterEach(async () => {
  await page?.close();
  page = undefined;
  await server?.close();
  server = undefined;
});

/** Connects a client in a fresh page and reports how `connect()` ended and what was emitted. */
async function connectInChromium(baseUrl: string): Promise<PageOutcome> {
  page = await chromium.browser.newPage();
  return connectInPage(page, chromium.sdk, {
    baseUrl,
    token: 'secret-token',
    options: { reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxInitialAttempts: 3 } },
  });
}

describe('a refused handshake in Chromium', () => {
  it('is retried as close 1006, then given up after maxInitialAttempts', async () => {
    server = await startWsServer();
    server.onUpgrade = (_request, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    };
    const outcome = await connectInChromium(server.baseUrl);

    expect(server.requests).toHaveLength(4);
    expect(outcome.reconnecting).toBe(3);
    expect(outcome.state).toBe('closed');
    expect(outcome.rejected.code).toBe('RECONNECT_EXHAUSTED');
    expect(outcome.rejected.message).toContain('Gave up after 3 failed reconnect attempts');
    expectOpaqueRefusals(outcome, 4, 'secret-token');
  });
});

describe('an error frame after accept, then close 1000, in Chromium', () => {
  it.each([
    ['a JSON error frame', '{"type":"error","message":"Invalid token"}', 'Invalid token'],
    ['a plain-text error frame', 'Authentication failed', 'Authentication failed'],
  ])('%s is AUTH_FAILED at once, with no retry', async (_name, frame, message) => {
    server = await startWsServer((ws) => {
      ws.send(frame);
      ws.close(1000);
    });
    const outcome = await connectInChromium(server.baseUrl);

    expect(server.sockets).toHaveLength(1);
    expect(outcome.reconnecting).toBe(0);
    expect(outcome.state).toBe('closed');
    expect(outcome.authErrors).toEqual([{ message, closeCode: 1000, willRetry: false }]);
    expect(outcome.rejected.code).toBe('AUTH_FAILED');
    expect(outcome.rejected.message).toBe(`The server refused the token: ${message}`);
  });
});

describe('plain text that no close follows, in Chromium', () => {
  it('is a greeting: the client opens and reports no error', async () => {
    server = await startWsServer((ws) => ws.send('Welcome to the task stream'));
    const outcome = await connectInChromium(server.baseUrl);

    expect(outcome.rejected.code).toBe('none');
    expect(outcome.state).toBe('open');
    expect(outcome.errors).toEqual([]);
    expect(outcome.authErrors).toEqual([]);
    expect(server.sockets).toHaveLength(1);
  });
});

describe('an insecure ws: URL from an https: page, in Chromium', () => {
  it('fails connect() at once with CONNECTION_ERROR, with no retry', async () => {
    page = await chromium.browser.newPage();
    await page.route('https://app.test/**', (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>app</title>' }),
    );
    await page.goto('https://app.test/');
    await page.addScriptTag({ content: chromium.sdk });
    const outcome = await page.evaluate(async () => {
      const { TaskStatusClient } = (
        window as unknown as { TaskStatus: typeof import('../../src/index.js') }
      ).TaskStatus;
      const client = new TaskStatusClient({
        baseUrl: 'http://tasks.test:8000',
        userId: 2,
        token: 'secret-token',
      });
      let reconnecting = 0;
      client.on('reconnecting', () => reconnecting++);
      const rejected = await client.connect().then(
        () => ({ code: 'none', message: '' }),
        (error: { code: string; message: string }) => ({
          code: error.code,
          message: error.message,
        }),
      );
      return { rejected, reconnecting, state: client.state };
    });

    expect(outcome.rejected.code).toBe('CONNECTION_ERROR');
    expect(outcome.rejected.message).toContain('Could not create the WebSocket');
    expect(outcome.rejected.message).toContain('HTTPS');
    expect(outcome.rejected.message).not.toContain('secret-token');
    expect(outcome.reconnecting).toBe(0);
    expect(outcome.state).toBe('closed');
  });
});

describe('a WebSocket blocked by the page CSP, in Chromium', () => {
  // Chromium fires `error` for it and reads it as closed, but fires no `close` event: each
  // attempt must end at once as a close 1006 would, not at its connect deadline.
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
