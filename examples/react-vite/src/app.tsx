import { memo } from 'react';
import type { TaskId, TaskStatusClientOptions } from 'task-status-client';
import { TaskStatusProvider, useTask, useTaskStatus } from 'task-status-client/react';
import { auth } from './auth.js';

const options: TaskStatusClientOptions = {
  // Same origin as the page: Vite's dev proxy (vite.config.ts) forwards /api to the backend.
  baseUrl: '',
  userId: auth.userId,
  // Read on every connect attempt, so a reconnect always uses the app's current token. When the
  // server refuses a token, the client asks once more with reason `auth-retry`: refresh then.
  token: ({ reason }) => (reason === 'auth-retry' ? auth.refresh() : auth.accessToken),
};

export function App() {
  return (
    <TaskStatusProvider options={options}>
      <main>
        <h1>Tasks</h1>
        <ConnectionStatus />
        <TaskList />
      </main>
    </TaskStatusProvider>
  );
}

function ConnectionStatus() {
  const { state, error, client } = useTaskStatus();
  return (
    <section>
      <p>
        Connection: <strong data-testid="state">{state}</strong>{' '}
        {state === 'closed' && (
          <button type="button" onClick={() => void client?.connect()}>
            Connect
          </button>
        )}
      </p>
      {error && (
        <p role="alert" data-testid="error" data-code={error.code}>
          {/* A first refusal is retried with a refreshed token: final only once closed. */}
          {state === 'closed' && error.code === 'AUTH_FAILED' ? 'Please sign in again. ' : ''}
          {error.code}: {error.message}
        </p>
      )}
    </section>
  );
}

function TaskList() {
  const { tasks } = useTaskStatus();
  if (tasks.size === 0) return <p>No tasks yet.</p>;
  return (
    <ul>
      {[...tasks.keys()].map((taskId) => (
        <TaskRow key={String(taskId)} taskId={taskId} />
      ))}
    </ul>
  );
}

/** `memo` plus `useTask`: a row re-renders only when its own task changes. */
const TaskRow = memo(function TaskRow({ taskId }: { taskId: TaskId }) {
  const task = useTask(taskId);
  if (task === undefined) return null;
  return (
    <li data-task-id={String(taskId)} data-status={task.status}>
      #{String(taskId)} {task.status} {task.progress ?? 0}%{' '}
      <progress value={task.progress ?? 0} max={100} /> {task.message}
    </li>
  );
});
