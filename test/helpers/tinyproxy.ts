/**
 * A real forward proxy for tests: Debian's `tinyproxy`, started in the foreground with a config
 * of the test's own on a free port of 127.0.0.1. `.ci/run` installs it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** How the proxy is set up. */
export interface TinyproxyOptions {
  /** Ports a `CONNECT` may go to; every port when not given (tinyproxy's rule). */
  readonly connectPorts?: readonly number[];
  /** A user name and password the proxy asks for (`407` without them). */
  readonly basicAuth?: { readonly user: string; readonly password: string };
  /** Seconds a connection may stay idle before the proxy cuts it. @default 600 */
  readonly idleTimeoutS?: number;
}

/** A running tinyproxy. */
export interface Tinyproxy {
  /** `http://127.0.0.1:<port>`, for `HTTP_PROXY` and `HTTPS_PROXY`. */
  readonly url: string;
  /** The `host:port` of every `CONNECT` it was asked for, in order. */
  connects(): string[];
  /** Everything it logged so far. */
  log(): string;
  /** Stops it and removes its config. */
  stop(): Promise<void>;
}

const READY = 'Accepting connections';
const CONNECT_REQUEST = /Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g;

/**
 * Starts tinyproxy; resolves once it accepts connections. The port is picked free a moment
 * before tinyproxy listens on it, so a port that another test took meanwhile is tried again
 * with another.
 */
export async function startTinyproxy(options: TinyproxyOptions = {}): Promise<Tinyproxy> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), options);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === 3) throw error;
    }
  }
}

/** tinyproxy could not listen on the port it was given. */
class PortTakenError extends Error {}

const PORT_TAKEN = 'Could not create listening sockets';

async function startOnce(port: number, options: TinyproxyOptions): Promise<Tinyproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'tinyproxy-'));
  const config = join(dir, 'tinyproxy.conf');
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    `Timeout ${options.idleTimeoutS ?? 600}`,
    'LogLevel Info',
    'MaxClients 50',
    'Allow 127.0.0.1',
    ...(options.connectPorts ?? []).map((allowed) => `ConnectPort ${allowed}`),
    ...(options.basicAuth === undefined
      ? []
      : [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`]),
  ];
  await writeFile(config, `${lines.join('\n')}\n`);
  const child = spawn('tinyproxy', ['-d', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes(READY)) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'ENOENT'
            ? new Error('tinyproxy is not installed: apt-get install -y tinyproxy')
            : error,
        ),
      );
      child.once('close', (code) =>
        reject(
          log.includes(PORT_TAKEN)
            ? new PortTakenError(`port ${port} is taken`)
            : new Error(`tinyproxy exited (${code}) before it was ready:\n${log}`),
        ),
      );
    });
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    connects: () => [...log.matchAll(CONNECT_REQUEST)].map((match) => match[1] as string),
    log: () => log,
    stop: async () => {
      stopChild(child);
      await exited;
      await remove();
    },
  };
}

/**
 * Registers, for the calling test file, the stop of every proxy a test starts once it ends, and
 * returns how to start one.
 */
export function setupTinyproxies(): (options?: TinyproxyOptions) => Promise<Tinyproxy> {
  const running: Tinyproxy[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proxy) => proxy.stop()));
  });
  return async (options = {}) => {
    const started = await startTinyproxy(options);
    running.push(started);
    return started;
  };
}

function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

/** A port of 127.0.0.1 that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
