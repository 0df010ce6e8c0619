/**
 * Starts `server.py`, a FastAPI app on uvicorn, as a child process, for tests that talk to a
 * backend of the very kind the client is written for.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Debian's Python, where `apt-get install` puts FastAPI and uvicorn. */
const PYTHON = '/usr/bin/python3';
const SERVER = fileURLToPath(new URL('./server.py', import.meta.url));
const INSTALL =
  'apt-get install -y python3-fastapi python3-uvicorn python3-websockets python3-wsproto python3-jwt';

/** How the backend refuses a bad token; see `server.py`. */
export type Refusal = 'json' | 'text' | 'detail-1008' | 'close-4001' | 'before-accept';

export interface BackendOptions {
  /** @default 'json' (an error frame, then Starlette's default close 1000) */
  readonly refuse?: Refusal;
  /** Seconds the token check takes after `accept()`. @default 0 */
  readonly authDelay?: number;
  /** Seconds of work before `accept()`, as on a busy server: the upgrade waits. @default 0 */
  readonly acceptDelay?: number;
  /** uvicorn's WebSocket implementation. @default 'websockets' */
  readonly ws?: 'websockets' | 'wsproto';
  /** A fixed port, to start a backend again where one was. @default 0 (any free port) */
  readonly port?: number;
  /** The address to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** A network namespace to run in (`ip netns exec`), where `host` is one of its addresses. */
  readonly netns?: string;
  /** End each session when its token expires (`token_expired`, then close 1000). @default false */
  readonly expireSessions?: boolean;
  /** Send no task updates: an idle server. @default false */
  readonly quiet?: boolean;
  /** Which pings the server answers: `text`, only a plain `ping`. @default 'json-and-text' */
  readonly pings?: 'json-and-text' | 'text';
  /** Greet in plain text instead of a `connected` ack; `/health` counts greetings. @default false */
  readonly greet?: boolean;
  /** Send the `connected` ack before the token check, and refuse after it. @default false */
  readonly ackFirst?: boolean;
  /** Token checks that fail first (an error frame, then 1013); `/health` counts them. @default 0 */
  readonly failChecks?: number;
  /** Serve HTTPS and `wss:` with the certificate and key in these PEM files. @default none */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
}

/** JWTs the backend signed for user 2 (and one for user 3). */
export interface Tokens {
  readonly good: string;
  readonly expired: string;
  readonly otherUser: string;
}

export interface Backend {
  readonly port: number;
  /** `http://<host>:<port>` (`https:` with `tls`): the client's `baseUrl` adds the route. */
  readonly baseUrl: string;
  readonly tokens: Tokens;
  /** Kills the process at once (no closing handshakes: the sockets just drop). */
  kill(): Promise<void>;
  /** Asks uvicorn to shut down (SIGTERM), and waits until it has. */
  stop(): Promise<void>;
}

/** The `kill` of every backend not yet known to have exited. */
const running = new Set<() => Promise<void>>();

/**
 * Starts a backend and resolves once it listens.
 *
 * @throws {Error} naming the install command when Debian's FastAPI or uvicorn is missing.
 */
export async function startBackend(options: BackendOptions = {}): Promise<Backend> {
  if (!existsSync(PYTHON)) throw new Error(`The FastAPI tests need ${PYTHON}: ${INSTALL}`);
  const host = options.host ?? '127.0.0.1';
  const argv = [
    SERVER,
    `--host=${host}`,
    `--refuse=${options.refuse ?? 'json'}`,
    `--auth-delay=${options.authDelay ?? 0}`,
    `--accept-delay=${options.acceptDelay ?? 0}`,
    `--ws=${options.ws ?? 'websockets'}`,
    `--port=${options.port ?? 0}`,
    `--pings=${options.pings ?? 'json-and-text'}`,
    ...(options.expireSessions ? ['--expire-sessions'] : []),
    ...(options.quiet ? ['--quiet'] : []),
    ...(options.greet ? ['--greet'] : []),
    ...(options.ackFirst ? ['--ack-first'] : []),
    `--fail-checks=${options.failChecks ?? 0}`,
    ...(options.tls === undefined
      ? []
      : [`--ssl-certfile=${options.tls.certPath}`, `--ssl-keyfile=${options.tls.keyPath}`]),
  ];
  // stdin stays open while this process lives: the backend exits when it closes.
  const stdio: ['pipe', 'pipe', 'pipe'] = ['pipe', 'pipe', 'pipe'];
  // `ip netns exec` replaces itself with Python, so the child is the backend all the same.
  const child =
    options.netns === undefined
      ? spawn(PYTHON, argv, { stdio })
      : spawn('ip', ['netns', 'exec', options.netns, PYTHON, ...argv], { stdio });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const kill = () => end('SIGKILL');
  running.add(kill);
  void exited.then(() => running.delete(kill));
  // Kept for the error of a backend that fails to start; read on after that, and dropped, so
  // that uvicorn's log never fills the pipe.
  let stderr: string | undefined = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr !== undefined) stderr += chunk.toString();
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => {
      lines.close();
      resolve(line);
    });
    child.once('exit', (code) =>
      reject(
        new Error(
          `The FastAPI backend exited (${code}) before listening. If FastAPI or uvicorn is ` +
            `missing, install them (as root): ${INSTALL}\n${stderr}`,
        ),
      ),
    );
  });
  const { port, tokens } = JSON.parse(await firstLine) as { port: number; tokens: Tokens };
  stderr = undefined;
  return {
    port,
    baseUrl: `${options.tls === undefined ? 'http' : 'https'}://${host}:${port}`,
    tokens,
    kill,
    stop: () => end('SIGTERM'),
  };
}

/** Kills every backend still running: for `afterEach`. */
export async function killBackends(): Promise<void> {
  await Promise.all([...running].map((kill) => kill()));
}
