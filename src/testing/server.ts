/**
 * `task-status-client/testing/server`: the real task-status server of the testing kit on its
 * own, for Node tests, demos and tools that do not install msw. Every public export is named
 * here; `task-status-client/testing` has these and the msw mock besides.
 */
export {
  type RestartOptions,
  type ServerTls,
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
  type TokenVerdict,
  type TokenVerifier,
  type UserId,
  type VerifyContext,
} from './types.js';
