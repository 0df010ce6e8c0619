import { TaskStatusClient } from 'task-status-client';

/** Where and as whom to follow the export. */
export interface ExportOptions {
  baseUrl: string;
  userId: number;
  /** Returns the app's current access token. */
  token: () => string;
  /** @default 60000 */
  timeoutMs?: number;
}

/**
 * The code under test, as an app would write it: waits for an export task and returns its
 * download URL, or throws with the task's error.
 */
export async function waitForExport(taskId: number, options: ExportOptions): Promise<string> {
  const { baseUrl, userId, token, timeoutMs = 60_000 } = options;
  const client = new TaskStatusClient({ baseUrl, userId, token, reconnect: { maxAttempts: 3 } });
  try {
    await client.connect();
    const task = await client.waitForTask(taskId, { timeoutMs });
    if (task.status !== 'completed') {
      throw new Error(`Export ${taskId} ${task.status}: ${String(task.error)}`);
    }
    return (task.result as { url: string }).url;
  } finally {
    await client.close();
  }
}
