/**
 * Waits for one task and exits with its outcome: 0 when it completed, 1 when it failed, was
 * cancelled, timed out, or the connection gave up. Progress goes to stderr as it arrives.
 *
 *   TASK_STATUS_URL=https://api.example.com TASK_STATUS_USER=2 TASK_STATUS_TOKEN=… \
 *     npx tsx examples/node-watch.ts 42
 *
 * The token is read from the environment on every connect attempt, so a wrapper that refreshes
 * the variable keeps a long wait going.
 */
import { isTaskStatusError, TaskStatusClient } from 'task-status-client';

const {
  TASK_STATUS_URL: baseUrl = 'http://127.0.0.1:8000',
  TASK_STATUS_USER: userId = '1',
  TASK_STATUS_TIMEOUT_MS: timeoutMs = '600000',
  TASK_STATUS_TOKEN,
} = process.env;
const taskId = process.argv[2];

if (taskId === undefined || !TASK_STATUS_TOKEN) {
  console.error(
    'usage: node-watch.ts <taskId>  (env: TASK_STATUS_URL, TASK_STATUS_USER, TASK_STATUS_TOKEN)',
  );
  process.exit(1);
}

const client = new TaskStatusClient({
  baseUrl,
  userId,
  token: () => {
    const { TASK_STATUS_TOKEN = '' } = process.env;
    return TASK_STATUS_TOKEN;
  },
  // A script should not wait forever on a backend that is gone.
  reconnect: { maxAttempts: 5 },
});
client.on('task', (task) => {
  if (String(task.taskId) !== taskId) return;
  console.error(
    `task ${taskId}: ${task.status}${task.progress === null ? '' : ` ${task.progress}%`}`,
  );
});

try {
  await client.connect();
  const final = await client.waitForTask(taskId, { timeoutMs: Number(timeoutMs) });
  console.log(
    JSON.stringify({ taskId, status: final.status, result: final.result, error: final.error }),
  );
  process.exitCode = final.status === 'completed' ? 0 : 1;
} catch (error) {
  console.error(isTaskStatusError(error) ? `${error.code}: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  await client.close();
}
