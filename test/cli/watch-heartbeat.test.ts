import { afterEach, describe, expect, it } from 'vitest';
import { watchClientOptions } from '../../src/cli/watch/watch.js';
import { type HeartbeatInfo, type HeartbeatOptions, TaskStatusClient } from '../../src/index.js';
import { nextEvent } from '../helpers/events.js';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { runCli, watchOptions } from './helpers.js';

const servers: TestServer[] = [];
const clients: TaskStatusClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('task-status watch --heartbeat-message', () => {
  it('has the client send that frame, and reads the plain-text pong as a round trip', async () => {
    const received: string[] = [];
    const server = await startWsServer((ws) => {
      ws.send('{"type":"connected","user_id":2}');
      ws.on('message', (data) => {
        received.push(String(data));
        if (String(data) === 'ping') ws.send('pong');
      });
    });
    servers.push(server);
    const built = watchClientOptions(watchOptions(server.baseUrl, { heartbeatMessage: 'ping' }));
    // Only the interval is shortened, so the test need not wait out the default 25 s.
    const heartbeat = { ...(built.heartbeat as HeartbeatOptions), intervalMs: 50 };
    const client = new TaskStatusClient({ ...built, heartbeat });
    clients.push(client);
    await client.connect();
    const [info] = await nextEvent<[HeartbeatInfo]>(client, 'heartbeat');
    expect(info.rttMs).toBeGreaterThanOrEqual(0);
    expect(received[0]).toBe('ping');
  });

  it('leaves the client its JSON ping without the flag', () => {
    expect(watchClientOptions(watchOptions('http://127.0.0.1:1')).heartbeat).toBeUndefined();
  });

  it('refuses an empty frame as bad arguments (exit 2)', async () => {
    const result = await runCli([
      'watch',
      '--base-url',
      'http://127.0.0.1:1',
      '--user',
      '2',
      '--token',
      'watch-token-of-user-2',
      '--heartbeat-message',
      '',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--heartbeat-message');
    expect(result.stderr).toContain('expected a non-empty frame');
  });
});
