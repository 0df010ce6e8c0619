import { renderToString } from 'react-dom/server';
import { afterEach, expect, it, vi } from 'vitest';
import { TaskStatusClient, type WebSocketConstructor } from '../src/index.js';
import { TaskStatusProvider, useTask, useTaskStatus } from '../src/react/index.js';
import { startTaskStatusServer } from '../src/testing/index.js';
import { afterZeroDelayTimers } from './helpers/timers.js';

/** A WebSocket that records its construction: the SSR render must never make one. */
const created: string[] = [];
const RecordingWebSocket = class {
  constructor(url: string) {
    created.push(url);
    throw new Error('no socket during a server render');
  }
} as unknown as WebSocketConstructor;

afterEach(() => {
  created.length = 0;
});

function Page() {
  const { state, tasks, error, client } = useTaskStatus();
  const task = useTask(42);
  return (
    <p>
      {`${state} ${tasks.size} ${error?.code ?? 'no-error'} ${client ? 'client' : 'no-client'} ${task?.status ?? 'no-task'}`}
    </p>
  );
}

it('renders on the server without creating a client or a socket', async () => {
  expect(typeof window).toBe('undefined');
  // A relative baseUrl would throw INVALID_OPTIONS here (no location): proof nothing was created.
  const html = renderToString(
    <TaskStatusProvider
      options={{ baseUrl: '', userId: 2, token: 't', WebSocket: RecordingWebSocket }}
    >
      <Page />
    </TaskStatusProvider>,
  );
  expect(html).toBe('<p>idle 0 no-error no-client no-task</p>');
  await afterZeroDelayTimers();
  expect(created).toEqual([]);
});

it('renders the idle snapshot for a client the app passes, whatever that client has done', async () => {
  // A client started before the render, as one shared with code outside React may be: a server
  // render and the hydration of its markup must still agree.
  const server = await startTaskStatusServer({ tokens: { t2: 2 } });
  const client = new TaskStatusClient({ baseUrl: server.url, userId: 2, token: 't2' });
  try {
    await client.connect();
    server.pushUpdate(2, { taskId: 42, status: 'running' });
    await vi.waitFor(() => expect(client.getTask(42)).toBeDefined());
    const html = renderToString(
      <TaskStatusProvider client={client}>
        <Page />
      </TaskStatusProvider>,
    );
    expect(html).toBe('<p>idle 0 no-error client no-task</p>');
  } finally {
    await client.close();
    await server.close();
  }
});
