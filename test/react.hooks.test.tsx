// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { memo } from 'react';
import { afterEach, beforeEach, expect, it } from 'vitest';
import NodeWebSocket from 'ws';
import type { TaskId, TaskStatusClientOptions } from '../src/index.js';
import { TaskStatusProvider, useTask, useTaskStatus } from '../src/react/index.js';
import { startTaskStatusServer, type TaskStatusServer } from '../src/testing/index.js';

let server: TaskStatusServer;

beforeEach(async () => {
  server = await startTaskStatusServer({ tokens: { t2: 2 } });
});

afterEach(async () => {
  cleanup();
  await server.close();
});

function options(token = 't2'): TaskStatusClientOptions {
  return {
    baseUrl: server.url,
    userId: 2,
    token,
    WebSocket: NodeWebSocket,
  };
}

function Status() {
  const { state, tasks, error } = useTaskStatus();
  return (
    <>
      <p data-testid="state">{state}</p>
      <p data-testid="tasks">{[...tasks.keys()].join(',')}</p>
      <p data-testid="error">{error?.code ?? ''}</p>
    </>
  );
}

/** Renders per row, by task id. */
const renders = new Map<string, number>();
const Row = memo(function Row({ taskId }: { taskId: TaskId }) {
  const task = useTask(taskId);
  renders.set(String(taskId), (renders.get(String(taskId)) ?? 0) + 1);
  return <li data-testid={`task-${taskId}`}>{task ? `${task.status} ${task.progress}` : '-'}</li>;
});

function Probe({ taskId }: { taskId: TaskId | null }) {
  const task = useTask(taskId);
  return <p data-testid={`probe-${String(taskId)}`}>{task?.status ?? 'none'}</p>;
}

async function opened(): Promise<void> {
  await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
}

it('follows the state, the task table and the last error', async () => {
  render(
    <TaskStatusProvider options={options()}>
      <Status />
    </TaskStatusProvider>,
  );
  await opened();
  act(() => {
    server.pushUpdate(2, { taskId: 1, status: 'running' });
    server.pushUpdate(2, { taskId: 2, status: 'pending' });
  });
  await waitFor(() => expect(screen.getByTestId('tasks').textContent).toBe('1,2'));
  expect(screen.getByTestId('error').textContent).toBe('');
});

it("tells a task's followers when the table forgets it", async () => {
  render(
    <TaskStatusProvider options={{ ...options(), maxTasks: 2 }}>
      <Status />
      <Probe taskId={1} />
    </TaskStatusProvider>,
  );
  await opened();
  act(() => {
    server.pushUpdate(2, { taskId: 1, status: 'completed' });
  });
  await waitFor(() => expect(screen.getByTestId('probe-1').textContent).toBe('completed'));
  // A third task takes the table past maxTasks: finished task 1 is forgotten.
  act(() => {
    server.pushUpdate(2, { taskId: 2, status: 'running' });
    server.pushUpdate(2, { taskId: 3, status: 'running' });
  });
  await waitFor(() => expect(screen.getByTestId('tasks').textContent).toBe('2,3'));
  expect(screen.getByTestId('probe-1').textContent).toBe('none');
});

it('shows AUTH_FAILED and the closed state when the token is refused', async () => {
  render(
    <TaskStatusProvider options={options('wrong')}>
      <Status />
    </TaskStatusProvider>,
  );
  await waitFor(() => expect(screen.getByTestId('error').textContent).toBe('AUTH_FAILED'));
  expect(screen.getByTestId('state').textContent).toBe('closed');
});

it('clears the error once a connection is accepted again', async () => {
  render(
    <TaskStatusProvider options={{ ...options(), reconnect: { initialDelayMs: 10 } }}>
      <Status />
    </TaskStatusProvider>,
  );
  await opened();
  act(() => server.closeAll(1011, 'boom'));
  await waitFor(() => expect(screen.getByTestId('error').textContent).toBe('CONNECTION_LOST'));
  await waitFor(() => expect(screen.getByTestId('error').textContent).toBe(''));
  expect(screen.getByTestId('state').textContent).toBe('open');
});

it('re-renders only the rows whose task changed', async () => {
  renders.clear();
  render(
    <TaskStatusProvider options={options()}>
      <State />
      <Row taskId={1} />
      <Row taskId={2} />
    </TaskStatusProvider>,
  );
  await opened();
  act(() => {
    server.pushUpdate(2, { taskId: 1, status: 'running', progress: 10 });
    server.pushUpdate(2, { taskId: 2, status: 'running', progress: 10 });
  });
  await waitFor(() => expect(screen.getByTestId('task-2').textContent).toBe('running 10'));
  const before = { 1: renders.get('1'), 2: renders.get('2') };

  act(() => server.pushUpdate(2, { taskId: 1, status: 'running', progress: 50 }));
  await waitFor(() => expect(screen.getByTestId('task-1').textContent).toBe('running 50'));
  expect(renders.get('1')).toBe((before[1] ?? 0) + 1);
  expect(renders.get('2')).toBe(before[2]);
});

it("takes 42 and '42' for the same task, and gives undefined for no id", async () => {
  render(
    <TaskStatusProvider options={options()}>
      <State />
      <Probe taskId="42" />
      <Probe taskId={null} />
    </TaskStatusProvider>,
  );
  await opened();
  act(() => {
    server.pushUpdate(2, { taskId: 42, status: 'completed' });
  });
  await waitFor(() => expect(screen.getByTestId('probe-42').textContent).toBe('completed'));
  expect(screen.getByTestId('probe-null').textContent).toBe('none');
});

function State() {
  return <p data-testid="state">{useTaskStatus().state}</p>;
}
