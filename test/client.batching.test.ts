/**
 * The client handles the frames of one socket read together, in a microtask after the read.
 * These tests make the server write many frames in one TCP write, so that they arrive in one
 * read, and check that batching changes nothing a user can see: order, what a listener that
 * closes the client stops, what a close that came with the frames means, and that a throwing
 * listener costs no update.
 */
import { execFile } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TaskId, TaskStatusClient, type TaskStatusClientOptions } from '../src/index.js';
import { rejection } from './helpers/events.js';
import { at, taskFrame } from './helpers/frames.js';
import { startWsServer, type TestServer } from './helpers/ws-server.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/throwing-listener.ts', import.meta.url));

/** One unmasked, final text frame, as a server writes it. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const length = payload.length;
  if (length < 126) return Buffer.concat([Buffer.from([0x81, length]), payload]);
  return Buffer.concat([Buffer.from([0x81, 126, length >> 8, length & 0xff]), payload]);
}

/** A close frame with a code and no reason. */
function closeFrame(code: number): Buffer {
  return Buffer.from([0x88, 2, code >> 8, code & 0xff]);
}

let server: TestServer;
const clients: TaskStatusClient[] = [];

/** Makes the server answer each connection with `bytes` in one write, right after the upgrade. */
function writeOnAccept(bytes: Buffer): void {
  let tcp: Socket | undefined;
  server.onUpgrade = (_request, socket, accept) => {
    tcp = socket;
    accept();
  };
  server.onSocket = () => tcp?.write(bytes);
}

/** Runs the throwing-listener fixture against the server; returns what it printed. */
async function runThrowingListener(target = server.baseUrl): Promise<unknown> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, target], {
    timeout: 8_000,
  });
  return JSON.parse(stdout.trim());
}

function client(options: Partial<TaskStatusClientOptions> = {}): TaskStatusClient {
  const made = new TaskStatusClient({
    baseUrl: server.baseUrl,
    userId: 2,
    token: 'tok',
    reconnect: false,
    ...options,
  });
  clients.push(made);
  return made;
}

beforeEach(async () => {
  server = await startWsServer();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((made) => made.close()));
  await server.close();
});

describe('frames of one socket read', () => {
  it('are all handled, in the order they were sent', async () => {
    const ids = Array.from({ length: 2_000 }, (_, i) => 1 + (i % 50));
    writeOnAccept(
      Buffer.concat([
        textFrame('{"type":"connected"}'),
        ...ids.map((id, i) => textFrame(taskFrame(id, 'running', { updated_at: at(i) }))),
      ]),
    );
    const made = client();
    const seen: TaskId[] = [];
    const all = new Promise<void>((resolve) =>
      made.on('task', (update) => {
        seen.push(update.taskId);
        if (seen.length === ids.length) resolve();
      }),
    );
    await made.connect();
    await all;
    expect(seen).toEqual(ids);
    expect(made.stats).toEqual({ applied: ids.length, stale: 0, forgotten: 0 });
  });

  it('keep their order with bad frames among them: each is reported where it came', async () => {
    writeOnAccept(
      Buffer.concat([
        textFrame('{"type":"connected"}'),
        textFrame(taskFrame(1, 'running', { updated_at: at(0) })),
        textFrame('{"type":"task_update",'),
        textFrame(taskFrame(2, 'running', { updated_at: at(1) })),
        textFrame('{"type":"surprise"}'),
        textFrame(taskFrame(3, 'running', { message: 'x'.repeat(400), updated_at: at(2) })),
        textFrame('{"type":"task_update","task_id":4}'),
        textFrame('plain words'),
        textFrame(taskFrame(5, 'completed', { updated_at: at(3) })),
      ]),
    );
    const made = client({ maxFrameBytes: 300 });
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      made.on('task', (update) => {
        seen.push(`task ${update.taskId}`);
        if (update.taskId === 5) resolve();
      });
      made.on('error', (error) => seen.push(error.code));
      made.on('message', (frame) => {
        if (frame.kind === 'text') seen.push(`text ${frame.text}`);
      });
    });
    await made.connect();
    await done;
    expect(seen).toEqual([
      'task 1',
      'PROTOCOL_ERROR',
      'task 2',
      'UNKNOWN_FRAME',
      'FRAME_TOO_LARGE',
      'PROTOCOL_ERROR',
      'text plain words',
      'task 5',
    ]);
  });

  it('stop at a listener that closes the client: the rest of the read is not delivered', async () => {
    writeOnAccept(
      Buffer.concat([
        textFrame('{"type":"connected"}'),
        ...[1, 2, 3, 4].map((id) => textFrame(taskFrame(id, 'running'))),
      ]),
    );
    const made = client();
    const seen: TaskId[] = [];
    const closed = new Promise<void>((resolve) =>
      made.on('state', (s) => s === 'closed' && resolve()),
    );
    made.on('task', (update) => {
      seen.push(update.taskId);
      if (update.taskId === 2) void made.close();
    });
    await made.connect();
    await closed;
    expect(seen).toEqual([1, 2]);
    expect(made.getTask(3)).toBeUndefined();
  });

  it('are handled before a close that came in the same read (error frame, then close 1000)', async () => {
    writeOnAccept(
      Buffer.concat([
        textFrame('{"type":"error","code":"auth_failed","message":"Invalid token"}'),
        closeFrame(1000),
      ]),
    );
    const made = client({ reconnect: {} });
    const failure = await rejection(made.connect());
    expect(failure.code).toBe('AUTH_FAILED');
    expect(failure.message).toContain('Invalid token');
    expect(server.requests).toHaveLength(1);
  });

  it('keep coming after a listener throws: the error is reported and no update is lost', async () => {
    writeOnAccept(
      Buffer.concat([
        textFrame('{"type":"connected"}'),
        ...[1, 2, 3].map((id) => textFrame(taskFrame(id, 'running'))),
      ]),
    );
    expect(await runThrowingListener()).toEqual({
      seen: [1, 2, 3],
      uncaught: ['listener failed on task 2'],
      closeCode: 1000,
    });
  });

  it('are all handled, and the close after them too, when a listener throws on one', async () => {
    writeOnAccept(
      Buffer.concat([
        textFrame('{"type":"connected"}'),
        ...[1, 2, 4].map((id) => textFrame(taskFrame(id, 'running'))),
        closeFrame(1011),
      ]),
    );
    expect(await runThrowingListener()).toEqual({
      seen: [1, 2, 4],
      uncaught: ['listener failed on task 2'],
      closeCode: 1011,
    });
  });

  it('are handled by a close handler that finds them queued, past a listener that throws', async () => {
    // A transport that fires its close event right after the messages, before any microtask.
    expect(await runThrowingListener('sync-close')).toEqual({
      seen: [1, 2, 4],
      uncaught: ['listener failed on task 2'],
      closeCode: 1011,
    });
  });
});
