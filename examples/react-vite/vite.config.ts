import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** Where the backend listens: your FastAPI app, or `npx tsx examples/dev-backend.ts`. */
const { TASK_STATUS_BACKEND: backend = 'http://127.0.0.1:8000' } = process.env;

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      // `ws: true` makes the proxy forward WebSocket upgrades, not only HTTP requests. Without
      // it Vite leaves the task socket's upgrade unanswered and logs nothing: each attempt ends
      // in HANDSHAKE_TIMEOUT, with deadlines of 10, 20, then 40 s, and the client gives up with
      // RECONNECT_EXHAUSTED after about 4 minutes. With it, `ws proxy error: Error: read
      // ECONNRESET` here means a reset, by the backend or, if `ws proxy socket error` follows,
      // by the browser; `connect ECONNREFUSED` means the backend is not running. See
      // docs/troubleshooting.md.
      '/api': { target: backend, ws: true },
    },
  },
  resolve: {
    // Only inside this repository: use the package's sources, so no build is needed first.
    // In your app, `npm install task-status-client` and drop this alias.
    alias: [
      { find: /^task-status-client\/react$/, replacement: source('react/index.ts') },
      { find: /^task-status-client$/, replacement: source('index.ts') },
    ],
  },
});

function source(file: string): string {
  return fileURLToPath(new URL(`../../src/${file}`, import.meta.url));
}
