// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { Component, type ReactNode, StrictMode } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterEach, beforeEach, expect, it } from 'vitest';
import NodeWebSocket from 'ws';
import { TaskStatusClient, type TaskStatusClientOptions } from '../src/index.js';
import { TaskStatusProvider, useTaskStatus } from '../src/react/index.js';
import { startTaskStatusServer, type TaskStatusServer } from '../src/testing/index.js';
import { afterZeroDelayTimers } from './helpers/timers.js';

let server: TaskStatusServer;
const clients: TaskStatusClient[] = [];
/** Every socket the clients created, even one closed before the server saw it. */
let sockets: string[] = [];

class CountingWebSocket extends NodeWebSocket {
  constructor(url: string) {
    super(url);
    sockets.push(url);
  }
}

beforeEach(async () => {
  server = await startTaskStatusServer({ tokens: { t2: 2, t3: 3 } });
  sockets = [];
});

afterEach(async () => {
  cleanup();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await server.close();
});

function options(userId = 2): TaskStatusClientOptions {
  return {
    baseUrl: server.url,
    userId,
    token: `t${userId}`,
    WebSocket: CountingWebSocket,
  };
}

function State() {
  const { state } = useTaskStatus();
  return <p data-testid="state">{state}</p>;
}

it('opens one socket under StrictMode and closes it on unmount', async () => {
  const view = render(
    <StrictMode>
      <TaskStatusProvider options={options()}>
        <State />
      </TaskStatusProvider>
    </StrictMode>,
  );
  await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
  expect(sockets).toHaveLength(1);
  expect(server.connections).toHaveLength(1);

  view.unmount();
  await waitFor(() => expect(server.clients).toHaveLength(0));
  expect(server.connections).toHaveLength(1);
  expect(server.connections[0]?.closeCode).toBe(1000);
});

it('connects a client it is given and leaves it open on unmount', async () => {
  const client = new TaskStatusClient(options());
  clients.push(client);
  const view = render(
    <TaskStatusProvider client={client}>
      <State />
    </TaskStatusProvider>,
  );
  await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
  view.unmount();
  await afterZeroDelayTimers();
  expect(client.state).toBe('open');
  expect(server.clients).toHaveLength(1);
});

it('replaces its client when the user changes, closing the old one', async () => {
  const view = render(
    <TaskStatusProvider options={options(2)}>
      <State />
    </TaskStatusProvider>,
  );
  await waitFor(() => expect(server.clients.map((c) => c.state)).toEqual(['open']));
  view.rerender(
    <TaskStatusProvider options={options(3)}>
      <State />
    </TaskStatusProvider>,
  );
  await waitFor(() =>
    expect(server.clients.map((c) => [c.userId, c.state])).toEqual([['3', 'open']]),
  );
  expect(screen.getByTestId('state').textContent).toBe('open');
});

it('keeps its client when it re-renders with equal options', async () => {
  const view = render(
    <TaskStatusProvider options={options()}>
      <State />
    </TaskStatusProvider>,
  );
  await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
  view.rerender(
    <TaskStatusProvider options={{ ...options(), connectTimeoutMs: 5_000 }}>
      <State />
    </TaskStatusProvider>,
  );
  await afterZeroDelayTimers();
  expect(sockets).toHaveLength(1);
  expect(server.clients).toHaveLength(1);
});

it('hydrates server-rendered markup without a mismatch, then connects', async () => {
  const app = (
    <TaskStatusProvider options={options()}>
      <State />
    </TaskStatusProvider>
  );
  const container = document.createElement('div');
  container.innerHTML = renderToString(app);
  document.body.append(container);
  expect(container.textContent).toBe('idle');
  const mismatches: unknown[] = [];
  const root = await act(async () =>
    hydrateRoot(container, app, { onRecoverableError: (error) => mismatches.push(error) }),
  );
  await waitFor(() => expect(container.textContent).toBe('open'));
  expect(mismatches).toEqual([]);
  act(() => root.unmount());
  container.remove();
  await waitFor(() => expect(server.clients).toHaveLength(0));
});

it('throws a clear error when a hook is used outside a provider', () => {
  const quiet = console.error;
  console.error = () => {};
  try {
    expect(() => render(<State />)).toThrow(
      expect.objectContaining({
        name: 'TaskStatusError',
        code: 'NO_PROVIDER',
        message: 'useTaskStatus() must be called inside a <TaskStatusProvider>',
      }),
    );
  } finally {
    console.error = quiet;
  }
});

/** Shows the code of the error its children threw. */
class Boundary extends Component<{ children: ReactNode }, { error?: unknown }> {
  override state: { error?: unknown } = {};
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render() {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    return <p data-testid="caught">{(error as { code?: string }).code}</p>;
  }
}

it('hands invalid options to the nearest error boundary at mount, with INVALID_OPTIONS', async () => {
  const quiet = console.error;
  console.error = () => {};
  try {
    // A user id not known yet, before sign-in.
    render(
      <Boundary>
        <TaskStatusProvider options={{ ...options(), userId: undefined as never }}>
          <State />
        </TaskStatusProvider>
      </Boundary>,
    );
    expect((await screen.findByTestId('caught')).textContent).toBe('INVALID_OPTIONS');
    expect(sockets).toEqual([]);
  } finally {
    console.error = quiet;
  }
});

it('closes its client when a token function is taken away, as at sign-out', async () => {
  const quiet = console.error;
  console.error = () => {};
  try {
    const app = (token: TaskStatusClientOptions['token'] | undefined) => (
      <Boundary>
        <TaskStatusProvider options={{ ...options(), token: token as never }}>
          <State />
        </TaskStatusProvider>
      </Boundary>
    );
    const view = render(app(() => 't2'));
    await waitFor(() => expect(server.clients.map((c) => c.state)).toEqual(['open']));
    view.rerender(app(undefined));
    expect((await screen.findByTestId('caught')).textContent).toBe('INVALID_OPTIONS');
    await waitFor(() => expect(server.clients).toEqual([]));
  } finally {
    console.error = quiet;
  }
});
