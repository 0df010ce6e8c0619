import { isTaskStatusError } from '../../index.js';
import type { ForwardProxy } from '../proxy.js';
import { checkDns, checkHealth, checkTcp } from './network-checks.js';
import { checkProxyDns, checkTunnel } from './proxy-checks.js';
import { DoctorSession } from './session-checks.js';
import { type DoctorOptions, resolveTarget, type Target } from './target.js';
import { checkTls } from './tls-check.js';
import type { CheckId, CheckOutcome, CheckResult, DoctorReport } from './types.js';
import { checkUpgrade, type ServerHints } from './upgrade-check.js';
import { checkUrl } from './url-check.js';

/** Names of the steps, as printed. */
export const CHECK_TITLES: Readonly<Record<CheckId, string>> = {
  dns: 'DNS lookup',
  tcp: 'TCP connect',
  tls: 'TLS',
  health: 'Health',
  url: 'Canonical URL',
  upgrade: 'HTTP upgrade',
  auth: 'Auth verdict',
  heartbeat: 'Heartbeat',
  reconnect: 'Reconnect',
};

/**
 * Runs every step in order, the way a person would debug the socket, calling `onCheck` as each
 * one finishes (so a terminal shows progress while a timeout runs). A step whose prerequisite
 * failed is skipped, never left out: the report always has the same nine checks.
 */
export async function runDoctor(
  options: DoctorOptions,
  onCheck: (check: CheckResult) => void,
): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const record = (id: CheckId, outcome: CheckOutcome, durationMs: number): CheckResult => {
    const check: CheckResult = {
      id,
      title: CHECK_TITLES[id],
      verdict: outcome.verdict,
      cause: outcome.cause,
      summary: outcome.summary,
      notes: outcome.notes ?? [],
      fix: outcome.fix ?? null,
      durationMs,
      data: outcome.data ?? {},
    };
    checks.push(check);
    onCheck(check);
    return check;
  };
  const run = async (id: CheckId, step: () => Promise<CheckOutcome> | CheckOutcome) => {
    const started = performance.now();
    const outcome = await step();
    return record(id, outcome, Math.round(performance.now() - started));
  };
  const skip = (id: CheckId, because: string) =>
    record(id, { verdict: 'skip', cause: null, summary: `skipped: ${because}` }, 0);

  let target: Target | undefined;
  let problem: string | undefined;
  try {
    target = resolveTarget(options);
  } catch (error) {
    if (!isTaskStatusError(error, 'INVALID_OPTIONS')) throw error;
    problem = error.message;
  }

  let findings: NetworkFindings = { blocked: undefined, hints: {} };
  if (target === undefined) {
    for (const id of ['dns', 'tcp', 'tls', 'health'] as const)
      skip(id, 'the base URL is unusable (see url)');
  } else findings = await runNetwork(target, options, run, skip);
  await run('url', () => checkUrl(target, options, problem));

  const blocked = target === undefined ? 'the base URL is unusable' : findings.blocked;
  if (blocked !== undefined) {
    for (const id of ['upgrade', 'auth', 'heartbeat', 'reconnect'] as const) skip(id, blocked);
  } else if (target !== undefined) {
    const resolved = target;
    const upgrade = await run('upgrade', () => checkUpgrade(resolved, options, findings.hints));
    if (upgrade.verdict === 'fail') {
      for (const id of ['auth', 'heartbeat', 'reconnect'] as const) skip(id, 'the upgrade failed');
    } else {
      await runSession(options, resolved.socketUrl, run, skip);
    }
  }
  return {
    ok: checks.every((check) => check.verdict !== 'fail'),
    url: target?.safeUrl ?? null,
    proxy: options.proxy?.shown ?? null,
    userId: String(options.userId),
    checks,
  };
}

/** Runs a step and records its outcome. */
type RunStep = (id: CheckId, step: () => Promise<CheckOutcome>) => Promise<CheckResult>;

/** Records a step as skipped, and why. */
type SkipStep = (id: CheckId, because: string) => CheckResult;

/** What the steps before the socket's found, for the steps after them. */
interface NetworkFindings {
  /** Why nothing can reach the socket (the server is unreachable, TLS failed), if so. */
  readonly blocked: string | undefined;
  readonly hints: ServerHints;
}

/**
 * The DNS, TCP, TLS and health steps, each skipped when one before it failed. Behind a proxy, the
 * DNS step resolves the proxy's host and the TCP step opens the proxy's tunnel.
 */
async function runNetwork(
  target: Target,
  options: DoctorOptions,
  run: RunStep,
  skip: SkipStep,
): Promise<NetworkFindings> {
  const { proxy, timeoutMs } = options;
  const reach = reachSteps(target, proxy, timeoutMs);
  let blocked: string | undefined = reach.unreachable;
  const dns = await run('dns', reach.dns);
  if (dns.verdict === 'fail') skip('tcp', reach.unresolved);
  else {
    const tcp = await run('tcp', reach.tcp);
    if (tcp.verdict !== 'fail') blocked = undefined;
  }
  if (blocked !== undefined) skip('tls', blocked);
  else if (!target.secure) skip('tls', `${plainScheme(options.baseUrl)} has no TLS`);
  else {
    const tls = await run('tls', () => checkTls(target, timeoutMs, options.extraCaCerts, proxy));
    if (tls.verdict === 'fail') blocked = 'the TLS handshake failed';
  }
  if (blocked !== undefined) {
    skip('health', blocked);
    return { blocked, hints: {} };
  }
  const health = await run('health', () => checkHealth(target, timeoutMs, proxy));
  const { servesTls } = health.data as { servesTls?: boolean };
  return {
    blocked,
    hints: { devServer: health.cause === 'health-web-page', servesTls },
  };
}

/** The DNS and TCP steps, and the words for their failures: of the server, or of the proxy. */
interface ReachSteps {
  readonly dns: () => Promise<CheckOutcome>;
  readonly tcp: () => Promise<CheckOutcome>;
  /** Why `tcp` is skipped when `dns` fails. */
  readonly unresolved: string;
  /** Why the steps after them are skipped when either fails. */
  readonly unreachable: string;
}

/**
 * Straight to the server, or behind a proxy: its host resolved instead, and its tunnel opened
 * instead of a TCP connection.
 */
function reachSteps(
  target: Target,
  proxy: ForwardProxy | undefined,
  timeoutMs: number,
): ReachSteps {
  if (proxy === undefined) {
    return {
      dns: () => checkDns(target),
      tcp: () => checkTcp(target, timeoutMs),
      unresolved: 'the host does not resolve',
      unreachable: 'the server is unreachable',
    };
  }
  return {
    dns: () => checkProxyDns(target, proxy),
    tcp: () => checkTunnel(target, proxy, timeoutMs),
    unresolved: "the proxy's host does not resolve",
    unreachable: 'the proxy opened no tunnel to the server',
  };
}

/** `http://` or `ws://`, as the base URL of a plain target was written. */
function plainScheme(baseUrl: string): string {
  return /^\s*https?:/i.test(baseUrl) ? 'http://' : 'ws://';
}

async function runSession(
  options: DoctorOptions,
  socketUrl: string,
  run: RunStep,
  skip: SkipStep,
): Promise<void> {
  const session = new DoctorSession(options, socketUrl);
  try {
    const auth = await run('auth', () => session.auth());
    if (auth.verdict === 'fail') {
      skip('heartbeat', 'the token was not accepted');
      skip('reconnect', 'the token was not accepted');
      return;
    }
    await run('heartbeat', () => session.heartbeat());
    await run('reconnect', () => session.reconnect());
  } finally {
    await session.close();
  }
}
