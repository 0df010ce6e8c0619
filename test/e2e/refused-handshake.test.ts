/**
 * A handshake the server refuses (HTTP 403 before accept, as Starlette answers a route it does
 * not have or a socket closed before `accept()`) in real Chromium. The browser hides the status
 * and shows close 1006, so the client cannot tell it from a network failure: it retries with
 * backoff, says what a reasonless 1006 may hide, and gives up after `maxInitialAttempts` instead
 * of looping.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { launchChromium } from './harness.js';

let browser: Browser;
let server: TestServer;
/** The root entry as a browser bundle (global `TaskStatus`). */
let sdk: string;

beforeAll(async () => {
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL('../../src/index.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    globalName: 'TaskStatus',
    platform: 'browser',
    alias: {
      'isomorphic-ws': fileURLToPath(new URL('../../src/transport/ws-browser.ts', import.meta.url)),
    },
    write: false,
    logLevel: 'silent',
  });
  sdk = bundled.outputFiles[0]?.text ?? '';
  server = await startWsServer();
  server.onUpgrade = (_request, socket) => {
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  };
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface Outcome {
  errors: { code: string; closeCode: number | undefined; message: string }[];
  reconnecting: number;
  rejected: { code: string; message: string };
  state: string;
}

describe('a refused handshake in Chromium', () => {
  it('is retried as close 1006, then given up after maxInitialAttempts', async () => {
    const page = await browser.newPage();
    await page.addScriptTag({ content: sdk });
    const outcome: Outcome = await page.evaluate(async (baseUrl) => {
      const { TaskStatusClient } = (
        window as unknown as { TaskStatus: typeof import('../../src/index.js') }
      ).TaskStatus;
      const client = new TaskStatusClient({
        baseUrl,
        userId: 2,
        token: 'secret-token',
        reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxInitialAttempts: 3 },
      });
      const errors: Outcome['errors'] = [];
      let reconnecting = 0;
      client.on('error', (error) =>
        errors.push({ code: error.code, closeCode: error.closeCode, message: error.message }),
      );
      client.on('reconnecting', () => reconnecting++);
      const rejected = await client.connect().then(
        () => ({ code: 'none', message: '' }),
        (error: { code: string; message: string }) => ({
          code: error.code,
          message: error.message,
        }),
      );
      return { errors, reconnecting, rejected, state: client.state };
    }, server.baseUrl);
    await page.close();

    expect(server.requests).toHaveLength(4);
    expect(outcome.reconnecting).toBe(3);
    expect(outcome.state).toBe('closed');
    expect(outcome.rejected.code).toBe('RECONNECT_EXHAUSTED');
    expect(outcome.rejected.message).toContain('Gave up after 3 failed attempts');
    const transient = outcome.errors.filter((error) => error.code === 'CONNECTION_ERROR');
    expect(transient).toHaveLength(4);
    for (const error of transient) {
      expect(error.closeCode).toBe(1006);
      expect(error.message).toContain('no reason given');
      expect(error.message).toContain('refused the path or the token');
      expect(error.message).not.toContain('secret-token');
    }
  });
});
