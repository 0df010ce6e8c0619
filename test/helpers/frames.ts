/** A `task_update` frame as the server writes it. */
export function taskFrame(
  taskId: number | string,
  status: string,
  extra: {
    progress?: number;
    updated_at?: string;
    message?: string;
    result?: unknown;
    error?: unknown;
  } = {},
): string {
  return JSON.stringify({ type: 'task_update', task_id: taskId, status, ...extra });
}

/** ISO time `seconds` after a fixed instant, for ordered `updated_at` values. */
export function at(seconds: number): string {
  return new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();
}
