/**
 * A task-status backend for trying the example apps without your FastAPI server: the testing
 * kit's real server on port 8000, accepting `demo-token` for user 1, running a simulation of five
 * tasks (one fails) whenever user 1 connects while none runs. A new connection first gets the
 * latest state of every task so far, so a reloaded page shows them again.
 *
 *   npx tsx examples/dev-backend.ts
 *   npx vite examples/react-vite      # or examples/vue-vite, in another terminal
 */
import { startTaskStatusServer } from 'task-status-client/testing';

const { PORT = '8000' } = process.env;
const port = Number(PORT);
const server = await startTaskStatusServer({
  port,
  tokens: { 'demo-token': 1 },
  snapshotOnConnect: true,
  simulate: { userId: 1, tasks: 5, minStepMs: 500, maxStepMs: 1500 },
});
console.log(`task-status backend on ${server.url} (token "demo-token", user 1); Ctrl+C stops it`);

process.once('SIGINT', () => void server.close());
process.once('SIGTERM', () => void server.close());
