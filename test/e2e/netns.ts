/**
 * A real, virtual network for the tests whose link must fail in the kernel itself: a network
 * namespace for the server, joined to the test's own namespace by a veth pair.
 *
 * ```
 * test process (host namespace)                       server namespace
 *   10.A.B.1/30  ── veth ──────────────────────────────  10.A.B.2/30
 *   route 10.A.B.5/32 via 10.A.B.2                        10.A.B.5/32 on lo (the server's address)
 * ```
 *
 * The server's address sits on the namespace's loopback, one routed hop away, so that each
 * failure is exactly one kernel state: the namespace's end of the pair down (no carrier, packets
 * vanish both ways, no FIN and no RST), the address gone (the namespace drops every packet to it
 * unanswered, SYNs included, as a firewall does), or the host's route replaced by one that fails
 * connects at once (`EHOSTUNREACH`, `ENETUNREACH`).
 *
 * Needs root and iproute2 (`ip netns`, veth): CI runs as root. Every name and address is drawn
 * per run, and `close()` (or the process's exit) removes the namespace, the pair and the route.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { Server } from 'node:net';
import { promisify } from 'node:util';
import type { ListeningSocket } from '../helpers/ws-server.js';

const run = promisify(execFile);

const NEEDS =
  'The real-network tests need root and iproute2 (network namespaces and veth pairs): run them ' +
  'as root, with `apt-get install -y iproute2`.';

/** The server's namespace and the kernel-level failures the tests put on its link. */
export interface VirtualNetwork {
  /** The namespace the server runs in. */
  readonly namespace: string;
  /** The server's address, routed from the host namespace into the server's namespace. */
  readonly serverIp: string;
  /** The namespace's end of the veth pair goes down: the link loses its carrier. */
  linkDown(): Promise<void>;
  /** Brings the namespace's end of the veth pair up again. */
  linkUp(): Promise<void>;
  /** Removes the server's address: packets to it, SYNs included, are dropped unanswered. */
  blackhole(): Promise<void>;
  /**
   * Replaces the host's route to the server: `unreachable` fails connects with `EHOSTUNREACH`,
   * `throw` ends the lookup with no route at all (`ENETUNREACH`), both at once.
   */
  unroute(kind: 'unreachable' | 'throw'): Promise<void>;
  /** Undoes every failure above: the link up, the address and the route back. */
  heal(): Promise<void>;
  /**
   * A TCP socket listening on `serverIp` inside the namespace, for a server in this process
   * (`startWsServer(onSocket, { at: socket })`): a child process opens it there and hands it over.
   */
  listen(): Promise<ListeningSocket>;
  /** Removes the namespace, the veth pair and the route. Idempotent. */
  close(): Promise<void>;
}

/** A short name no other run uses: veth names hold at most 15 characters. */
function uniqueId(): string {
  const pid = String(process.pid % 10_000).padStart(4, '0');
  return `${pid}${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;
}

/** A /24 in 10.0.0.0/8 that no route of this machine's covers or splits, the default one aside. */
async function freeBlock(): Promise<string> {
  for (;;) {
    const block = `10.${20 + Math.floor(Math.random() * 230)}.${Math.floor(Math.random() * 256)}`;
    const routes = await Promise.all(
      ['match', 'root'].map((which) =>
        run('ip', ['-4', '-o', 'route', 'show', which, `${block}.0/24`]),
      ),
    );
    const lines = routes.flatMap(({ stdout }) => stdout.split('\n')).filter(Boolean);
    if (lines.every((line) => line.startsWith('default '))) return block;
  }
}

/** Starts the namespace, the veth pair and the route. */
export async function startVirtualNetwork(): Promise<VirtualNetwork> {
  const id = uniqueId();
  const namespace = `tsc-net-${id}`;
  const hostEnd = `tsh${id}`;
  const nsEnd = `tsn${id}`;
  const block = await freeBlock().catch((error: unknown) => {
    throw new Error(`${NEEDS}\n${String(error)}`);
  });
  const hostIp = `${block}.1`;
  const nsIp = `${block}.2`;
  const serverIp = `${block}.5`;
  const ip = async (...args: string[]) => {
    await run('ip', args);
  };
  const inside = (...args: string[]) => ip('-n', namespace, ...args);
  const routeToServer = () => ip('route', 'replace', `${serverIp}/32`, 'via', nsIp, 'dev', hostEnd);

  let closed = false;
  const removeNow = () => {
    if (closed) return;
    closed = true;
    for (const args of [
      ['netns', 'delete', namespace],
      ['link', 'delete', hostEnd],
      // An `unreachable` or `throw` route belongs to no device, so nothing else removes it.
      ['route', 'delete', `${serverIp}/32`],
    ]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore' });
      } catch {
        // Gone already, with the namespace or the pair.
      }
    }
  };
  process.once('exit', removeNow);

  try {
    await ip('netns', 'add', namespace);
  } catch (error) {
    process.off('exit', removeNow);
    throw new Error(`${NEEDS}\n${String(error)}`);
  }
  try {
    await ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd, 'netns', namespace);
    // IPv4 alone: no IPv6 link-local address, so no traffic on the pair but the tests' own.
    await ip('link', 'set', hostEnd, 'addrgenmode', 'none');
    await inside('link', 'set', nsEnd, 'addrgenmode', 'none');
    await ip('address', 'add', `${hostIp}/30`, 'dev', hostEnd);
    await inside('address', 'add', `${nsIp}/30`, 'dev', nsEnd);
    await inside('address', 'add', `${serverIp}/32`, 'dev', 'lo');
    await ip('link', 'set', hostEnd, 'up');
    await inside('link', 'set', 'lo', 'up');
    await inside('link', 'set', nsEnd, 'up');
    await routeToServer();
  } catch (error) {
    removeNow();
    process.off('exit', removeNow);
    throw error;
  }

  return {
    namespace,
    serverIp,
    linkDown: () => inside('link', 'set', nsEnd, 'down'),
    linkUp: () => inside('link', 'set', nsEnd, 'up'),
    blackhole: () => inside('address', 'delete', `${serverIp}/32`, 'dev', 'lo'),
    unroute: (kind) => ip('route', 'replace', kind, `${serverIp}/32`),
    async heal() {
      await inside('link', 'set', nsEnd, 'up');
      await inside('address', 'replace', `${serverIp}/32`, 'dev', 'lo');
      await routeToServer();
    },
    listen: () => listenInside(namespace, serverIp),
    async close() {
      removeNow();
      process.off('exit', removeNow);
    },
  };
}

/** Opens a listening socket inside `namespace` and receives it over the IPC channel. */
function listenInside(namespace: string, host: string): Promise<ListeningSocket> {
  const script = `
    const server = require('node:net').createServer();
    server.listen({ host: process.argv[1], port: 0 }, () =>
      process.send('listening', server, () => process.exit(0)));`;
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', script, host], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('message', (_message, handle) => resolve({ handle: handle as Server, host }));
    // After the message, if one came: `close` waits for the IPC channel too.
    child.once('close', (code) =>
      reject(new Error(`No socket from namespace ${namespace} (exit ${code}): ${stderr}`)),
    );
  });
}
