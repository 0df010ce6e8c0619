/**
 * User code that throws (a listener, a `shouldReconnect` or `random` option) is the user's bug,
 * but it must not stop the client halfway: the state change, reconnect or next frame after it
 * still happens, the default policy decides where the predicate gave no answer, `Math.random`
 * stands in for `random`, and the error is thrown again from a microtask (an uncaught
 * exception). Run in a child process, where uncaught exceptions can be collected instead of
 * failing the test run.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/throwing-user-code.ts', import.meta.url));
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

type Mode = 'listeners' | 'predicate' | 'random' | 'task';

async function runFixture(mode: Mode, baseUrl: string): Promise<unknown> {
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

describe('user code that throws', () => {
  it.each<[string, Mode, string[]]>([
    [
      'close, error and reconnecting listeners',
      'listeners',
      ['close listener failed', 'error listener failed', 'reconnecting listener failed'],
    ],
    ['a shouldReconnect (the default policy decides)', 'predicate', ['shouldReconnect failed']],
    ['a random (Math.random stands in)', 'random', ['random failed']],
  ])('%s: a dropped connection still comes back', async (_name, mode, uncaught) => {
    server = await dropFirst();
    expect(await runFixture(mode, server.baseUrl)).toEqual({
      outcome: 'reconnected',
      state: 'open',
      uncaught,
    });
    expect(server.sockets).toHaveLength(2);
  });

  it('a task listener that throws: the listeners after it, iterators and waits get every update', async () => {
    server = await startWsServer((ws) => {
      ws.send('{"type":"connected"}');
      ws.send('{"type":"task_update","task_id":9,"status":"running"}');
      ws.send('{"type":"task_update","task_id":9,"status":"completed"}');
    });
    expect(await runFixture('task', server.baseUrl)).toEqual({
      outcome: 'completed',
      // Called once, with its context, and then removed.
      once: ['running'],
      iterated: ['running', 'completed'],
      uncaught: ['task listener failed', 'task listener failed'],
    });
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
});
