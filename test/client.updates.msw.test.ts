import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TaskStatusClient, type TaskUpdate } from '../src/index.js';
import { createMockTaskServer } from '../src/testing/index.js';
import { rejection } from './helpers/events.js';
import { lendGlobalWebSocket } from './helpers/msw.js';

const BASE = 'http://tasks.test';
const backend = createMockTaskServer({ baseUrl: BASE, tokens: { 'tok-2': 2 } });
const server = setupServer(...backend.handlers);
const clients: TaskStatusClient[] = [];

function client() {
  const created = new TaskStatusClient({
    baseUrl: BASE,
    userId: 2,
    token: 'tok-2',
    heartbeat: false,
  });
  clients.push(created);
  return created;
}

lendGlobalWebSocket();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  backend.reset();
});
afterAll(() => server.close());

describe('task updates through the msw mock of the testing kit', () => {
  it('streams updates to an iterator in order and resolves waitForTask', async () => {
    const c = client();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const update of c.watchTask(42)) seen.push(`${update.status}:${update.progress}`);
    })();
    await c.connect();
    const done = c.waitForTask(42);
    backend.pushUpdate(2, { taskId: 42, status: 'running', progress: 10 });
    backend.pushUpdate(2, { taskId: 42, status: 'running', progress: 70 });
    backend.completeTask(2, 42, { url: '/report.pdf' });
    const final: TaskUpdate = await done;
    await loop;
    expect(final).toMatchObject({
      taskId: 42,
      status: 'completed',
      result: { url: '/report.pdf' },
    });
    expect(seen).toEqual(['running:10', 'running:70', 'completed:100']);
    expect(c.getTask('42')?.status).toBe('completed');
  });

  it('rejects a pending iterator with AUTH_FAILED when the token is refused', async () => {
    backend.rejectNextAuth();
    const c = client();
    const next = rejection(c.updates().next());
    await c.connect().catch(() => {});
    expect((await next).code).toBe('AUTH_FAILED');
  });

  it('resolves waitForTask with a failed task and ignores duplicates of it', async () => {
    const c = client();
    await c.connect();
    const done = c.waitForTask(7);
    const frame = backend.failTask(2, 7, 'disk full');
    backend.sendRaw(2, JSON.stringify(frame));
    await expect(done).resolves.toMatchObject({ status: 'failed', error: 'disk full' });
    await expect.poll(() => c.stats.stale).toBe(1);
  });
});
