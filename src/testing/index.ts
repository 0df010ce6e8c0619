/**
 * `task-status-client/testing`: a task-status backend for tests and demos. One protocol brain,
 * two transports: msw's `ws.link()` (`createMockTaskServer`, Node and browser) and a real HTTP +
 * WebSocket server (`startTaskStatusServer`, Node). Every public export is named here.
 */
export {
  createMockTaskServer,
  type MockTaskServer,
  type MockTaskServerOptions,
} from './mock-server.js';
export {
  type RestartOptions,
  startTaskStatusServer,
  type TaskStatusServer,
  type TaskStatusServerOptions,
} from './real-server.js';
export {
  SIMULATION_DEFAULTS,
  type Simulation,
  type SimulationOptions,
} from './simulator.js';
export {
  type AcceptedTokens,
  type AuthRejection,
  type ErrorFormat,
  SERVER_HEARTBEAT_DEFAULTS,
  type ServerClient,
  type ServerClientState,
  type ServerHeartbeatOptions,
  TASK_SERVER_DEFAULTS,
  type TaskServerControls,
  type TaskServerOptions,
  type TaskUpdateInput,
  type TokenVerifier,
  type UserId,
  type VerifyContext,
} from './types.js';
