// Stands in for `real-server.ts` in the browser build of `/testing`, so no Node module is bundled.
import type { startTaskStatusServer as NodeOnly } from './real-server.js';

export const startTaskStatusServer: typeof NodeOnly = () =>
  Promise.reject(
    new Error(
      'startTaskStatusServer runs in Node only; in a browser use createMockTaskServer with msw setupWorker',
    ),
  );
