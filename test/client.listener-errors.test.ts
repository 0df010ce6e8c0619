/**
 * A listener that throws is the user's bug, but it must not stop the client: the state change,
 * reconnect or next frame after the event still happens, and the error is thrown again from a
 * microtask (an uncaught exception). Run in a child process, where uncaught exceptions can be
 * collected instead of failing the test run.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

const run = promisify(execFile);
const fixture = fileURLToPath(
  new URL('./fixtures/throwing-lifecycle-listeners.ts', import.meta.url),
);
let server: TestServer;

beforeEach(async () => {
  server = await startWsServer((ws) => {
    ws.send('{"type":"connected"}');
    if (server.sockets.length === 1) ws.terminate();
  });
});

afterEach(async () => {
  await server.close();
});

describe('listeners that throw', () => {
  it('on close, error and reconnecting do not stop the reconnect', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, server.baseUrl], {
      timeout: 8_000,
    });
    expect(JSON.parse(stdout.trim())).toEqual({
      reconnected: true,
      state: 'open',
      uncaught: ['close listener failed', 'error listener failed', 'reconnecting listener failed'],
    });
    expect(server.sockets).toHaveLength(2);
  });
});
