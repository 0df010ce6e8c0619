/**
 * A token function that fetches the token, in real Chromium: when the token server never
 * answers, the client gives up on the request at `connectTimeoutMs`, aborts it through the
 * context's `signal` (so the browser cancels it), and connects with the next one.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { setupChromium } from './harness.js';

const chromium = setupChromium();
let server: TestServer | undefined;
let app: Server | undefined;
let page: Page | undefined;

afterEach(async () => {
  await page?.close();
  page = undefined;
  app?.closeAllConnections();
  await new Promise((resolve) => (app ? app.close(resolve) : resolve(undefined)));
  app = undefined;
  await server?.close();
  server = undefined;
});

describe('a token request that hangs, in Chromium', () => {
  it('is cancelled at connectTimeoutMs, and the next request connects the client', async () => {
    server = await startWsServer((ws) => ws.send('{"type":"connected","user_id":2}'));
    let tokenRequests = 0;
    let hungRequestClosed: () => void = () => {};
    const cancelled = new Promise<void>((resolve) => {
      hungRequestClosed = resolve;
    });
    // The page and its token endpoint share an origin; the first token request never gets an
    // answer, so only the browser cancelling it closes it.
    app = createServer((request, response) => {
      if (request.url !== '/token') {
        response.setHeader('content-type', 'text/html');
        response.end('<!doctype html><title>app</title>');
        return;
      }
      tokenRequests += 1;
      if (tokenRequests === 1) response.on('close', hungRequestClosed);
      else response.end('tok-fresh');
    });
    await new Promise<void>((resolve) => app?.listen(0, '127.0.0.1', resolve));
    const { port } = app.address() as AddressInfo;

    page = await chromium.browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.addScriptTag({ content: chromium.sdk });
    const outcome = await page.evaluate(async (baseUrl) => {
      const { TaskStatusClient } = (
        window as unknown as { TaskStatus: typeof import('../../src/index.js') }
      ).TaskStatus;
      const calls: { reason: string; attempt: number; aborted: () => boolean }[] = [];
      const client = new TaskStatusClient({
        baseUrl,
        userId: 2,
        connectTimeoutMs: 300,
        reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
        token: async ({ reason, attempt, signal }) => {
          calls.push({ reason, attempt, aborted: () => signal.aborted });
          const response = await fetch('/token', { signal });
          return response.text();
        },
      });
      const errors: string[] = [];
      client.on('error', (error) => errors.push(`${error.code}: ${error.message}`));
      await client.connect();
      const state = client.state;
      await client.close();
      return {
        state,
        errors,
        calls: calls.map(({ reason, attempt, aborted }) => [reason, attempt, aborted()]),
      };
    }, server.baseUrl);

    await cancelled;
    expect(outcome.state).toBe('open');
    expect(outcome.errors).toEqual([
      'TOKEN_ERROR: The token function did not settle within connectTimeoutMs (300 ms)',
    ]);
    expect(outcome.calls).toEqual([
      ['connect', 0, true],
      ['reconnect', 1, false],
    ]);
    expect(tokenRequests).toBe(2);
    expect(server.requests).toEqual(['/api/v1/ws/tasks/2?token=tok-fresh']);
  });
});
