/**
 * A `shouldReconnect` or `random` option that throws is the user's bug, but it must not leave
 * the client stranded halfway through a reconnect: the default policy decides (and
 * `Math.random` stands in), and the error is thrown again from a microtask, an uncaught
 * exception. Run in a child process, where uncaught exceptions can be collected.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/throwing-callbacks.ts', import.meta.url));
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function runFixture(mode: 'predicate' | 'random', baseUrl: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, baseUrl, mode], {
    timeout: 8_000,
  });
  return JSON.parse(stdout.trim());
}

/** Accepts every connection and drops the first one without a close frame. */
async function dropFirst(): Promise<TestServer> {
  const started = await startWsServer((ws) => {
    ws.send('{"type":"connected"}');
    if (started.sockets.length === 1) ws.terminate();
  });
  return started;
}

describe('user callbacks that throw', () => {
  it('a throwing shouldReconnect leaves a dropped connection to the default policy', async () => {
    server = await dropFirst();
    expect(await runFixture('predicate', server.baseUrl)).toEqual({
      outcome: 'reconnected',
      state: 'open',
      uncaught: ['shouldReconnect failed'],
    });
    expect(server.sockets).toHaveLength(2);
  });

  it('a throwing shouldReconnect leaves an auth failure final', async () => {
    server = await startWsServer((ws) => {
      ws.send('{"type":"error","code":"invalid_token","message":"Token expired"}');
      ws.close();
    });
    expect(await runFixture('predicate', server.baseUrl)).toEqual({
      outcome: 'AUTH_FAILED',
      state: 'closed',
      uncaught: ['shouldReconnect failed'],
    });
    expect(server.sockets).toHaveLength(1);
  });

  it('a throwing random still gives a reconnect, with Math.random for the jitter', async () => {
    server = await dropFirst();
    expect(await runFixture('random', server.baseUrl)).toEqual({
      outcome: 'reconnected',
      state: 'open',
      uncaught: ['random failed'],
    });
    expect(server.sockets).toHaveLength(2);
  });
});
