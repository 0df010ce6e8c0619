/**
 * `task-status-client/testing`: a task-status backend for tests and demos. One protocol brain,
 * two transports: msw's `ws.link()` (`createMockTaskServer`, Node and browser) and a real HTTP +
 * WebSocket server (`startTaskStatusServer`, Node). Every public export is named here or in
 * `./server.ts`, the `./testing/server` entry, whose exports this one repeats.
 */
export {
  createMockTaskServer,
  type MockTaskServer,
  type MockTaskServerOptions,
} from './mock-server.js';
// The real server, the simulator and the shared types.
export * from './server.js';
