/**
 * `npm run examples:node`: runs examples/node-watch.ts (the way a user would, through tsx)
 * against the testing kit's real backend and checks its exit codes: 0 for a task that
 * completes, 1 for one that fails, 1 when the token is refused.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTaskStatusServer, type TaskStatusServer } from '../src/testing/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TIMEOUT_MS = 30_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts node-watch.ts for `taskId`; `drive` plays the backend's part once it has connected. */
async function watch(
  server: TaskStatusServer,
  taskId: number,
  token: string,
  drive: () => void,
): Promise<Run> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'examples/node-watch.ts', String(taskId)],
    {
      cwd: root,
      env: {
        ...process.env,
        TASK_STATUS_URL: server.url,
        TASK_STATUS_USER: '1',
        TASK_STATUS_TOKEN: token,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const killer = setTimeout(() => child.kill(), TIMEOUT_MS);
  const connected = setInterval(() => {
    if (server.clients.some((client) => client.state === 'open')) {
      clearInterval(connected);
      drive();
    }
  }, 20);
  const code = await exited;
  clearInterval(connected);
  clearTimeout(killer);
  return { code, stdout, stderr };
}

function check(name: string, run: Run, expectedCode: number, expectedText: string): boolean {
  const ok = run.code === expectedCode && `${run.stdout}${run.stderr}`.includes(expectedText);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: exit ${run.code}`);
  if (!ok)
    console.log(
      `  expected exit ${expectedCode} and "${expectedText}"\n${run.stdout}${run.stderr}`,
    );
  return ok;
}

const server = await startTaskStatusServer({ tokens: { 'token-of-1': 1 } });
const results: boolean[] = [];
try {
  const completed = await watch(server, 42, 'token-of-1', () => {
    server.pushUpdate(1, { taskId: 42, status: 'running', progress: 50 });
    server.completeTask(1, 42, { url: '/reports/42.pdf' });
  });
  results.push(check('a completed task', completed, 0, '"status":"completed"'));
  server.reset();

  const failed = await watch(server, 43, 'token-of-1', () => {
    server.failTask(1, 43, 'disk full');
  });
  results.push(check('a failed task', failed, 1, '"status":"failed"'));
  server.reset();

  const refused = await watch(server, 44, 'stale-token', () => {});
  results.push(check('a refused token', refused, 1, 'AUTH_FAILED'));
} finally {
  await server.close();
}
process.exitCode = results.every(Boolean) ? 0 : 1;
