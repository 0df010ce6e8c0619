import { renderToString } from 'react-dom/server';
import { afterEach, expect, it } from 'vitest';
import type { WebSocketConstructor } from '../src/index.js';
import { TaskStatusProvider, useTask, useTaskStatus } from '../src/react/index.js';
import { startedClient } from './helpers/started-client.js';
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
  // A server render and the hydration of its markup must agree, even for a client started first.
  const started = await startedClient();
  try {
    const html = renderToString(
      <TaskStatusProvider client={started.client}>
        <Page />
      </TaskStatusProvider>,
    );
    expect(html).toBe('<p>idle 0 no-error client no-task</p>');
  } finally {
    await started.close();
  }
});
