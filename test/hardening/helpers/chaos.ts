import { afterEach, beforeEach } from 'vitest';
import { TaskStatusClient, type TaskStatusClientOptions } from '../../../src/index.js';
import { startWsServer, type TestServer } from '../../helpers/ws-server.js';
import { NODE_WEBSOCKET, numberedConnections } from './connections.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** A chaos test file's server, the TCP proxy in front of it, and its clients. */
export interface ChaosRig {
  readonly server: TestServer;
  readonly proxy: TcpProxy;
  /** A client of user 2 through the proxy, with the file's defaults. */
  client(options?: Partial<TaskStatusClientOptions>): TaskStatusClient;
}

/**
 * Registers the hooks of a chaos test file: per test, a numbered `ws` server behind a fresh proxy;
 * after it, every client closed, then the proxy and the server.
 */
export function setupChaos(defaults: Partial<TaskStatusClientOptions>): ChaosRig {
  let server: TestServer | undefined;
  let proxy: TcpProxy | undefined;
  const clients: TaskStatusClient[] = [];
  beforeEach(async () => {
    server = await startWsServer(numberedConnections());
    proxy = await startTcpProxy(server.port);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await proxy?.close();
    await server?.close();
  });
  const rig: ChaosRig = {
    get server() {
      if (server === undefined) throw new Error('the server starts in beforeEach');
      return server;
    },
    get proxy() {
      if (proxy === undefined) throw new Error('the proxy starts in beforeEach');
      return proxy;
    },
    client(options = {}) {
      const created = new TaskStatusClient({
        WebSocket: NODE_WEBSOCKET,
        baseUrl: rig.proxy.baseUrl,
        userId: 2,
        token: 'tok',
        authGraceMs: 5_000,
        ...defaults,
        ...options,
      });
      clients.push(created);
      return created;
    },
  };
  return rig;
}
