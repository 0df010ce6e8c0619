/**
 * An integration test of `waitForExport` against the testing kit's mocked backend: msw answers
 * the WebSocket in-process, no port and no server to start.
 */
import { setupServer } from 'msw/node';
import { createMockTaskServer } from 'task-status-client/testing';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { waitForExport } from './export.js';

// Node 20 has no global WebSocket for msw to intercept; Node 22+ and browsers do.
globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket;

const baseUrl = 'http://localhost:8000';
const backend = createMockTaskServer({ baseUrl, tokens: { 'token-of-2': 2 } });
const msw = setupServer(...backend.handlers);

beforeAll(() => msw.listen());
afterEach(() => backend.reset());
afterAll(() => msw.close());

/** Resolves once the code under test is connected and its token accepted. */
async function connected(): Promise<void> {
  await vi.waitFor(() => expect(backend.clients.map((c) => c.state)).toContain('open'));
}

it('resolves with the download URL once the export completes', async () => {
  const download = waitForExport(42, { baseUrl, userId: 2, token: () => 'token-of-2' });
  await connected();
  backend.pushUpdate(2, { taskId: 42, status: 'running', progress: 50 });
  backend.completeTask(2, 42, { url: '/exports/42.csv' });
  await expect(download).resolves.toBe('/exports/42.csv');
});

it('throws with the task error when the export fails', async () => {
  const download = waitForExport(43, { baseUrl, userId: 2, token: () => 'token-of-2' });
  await connected();
  backend.failTask(2, 43, 'disk full');
  await expect(download).rejects.toThrow('Export 43 failed: disk full');
});

it('throws AUTH_FAILED when the backend refuses the token', async () => {
  const download = waitForExport(44, { baseUrl, userId: 2, token: () => 'stale' });
  await expect(download).rejects.toMatchObject({ code: 'AUTH_FAILED' });
});
