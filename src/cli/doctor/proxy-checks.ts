import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ForwardProxy } from '../proxy.js';
import { hostAndPort, type Target } from './target.js';
import { openTunnel, proxyEndpoint, type TunnelOpening } from './tunnel.js';
import { type CheckOutcome, fail, pass } from './types.js';

/**
 * The DNS step behind a proxy: the proxy's host is resolved here, the server's by the proxy
 * (behind a proxy, the server's name need not resolve on this machine, and often does not).
 */
export async function checkProxyDns(target: Target, proxy: ForwardProxy): Promise<CheckOutcome> {
  const endpoint = proxyEndpoint(proxy);
  try {
    const addresses = await lookup(endpoint.host, { all: true });
    const list = addresses.map((entry) => entry.address);
    // An address needs no resolving: the proxy connects to it as it is.
    const server = isIP(target.host) === 0 ? ` (${target.host} is resolved by the proxy)` : '';
    return pass(`the proxy's host ${endpoint.host} resolves to ${list.join(', ')}${server}`, {
      data: { addresses: list, proxyHost: endpoint.host },
    });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const said = typeof code === 'string' ? code : String(error);
    return fail(
      'proxy-unreachable',
      `the proxy's host ${endpoint.host} does not resolve (${said})`,
      `check the host in ${variableOf(target)}; ${directly(target)}`,
      { data: { proxyHost: endpoint.host, code: typeof code === 'string' ? code : null } },
    );
  }
}

/**
 * The TCP step behind a proxy: a connection to the proxy, and the tunnel it opens (or not) to
 * the server's host and port. Most proxies connect to the server before they answer, so an open
 * tunnel says the server takes connections too.
 */
export async function checkTunnel(
  target: Target,
  proxy: ForwardProxy,
  timeoutMs: number,
): Promise<CheckOutcome> {
  const opening = await openTunnel(proxy, target.host, target.port, timeoutMs);
  const endpoint = proxyEndpoint(proxy);
  const where = hostAndPort(target);
  const data = { proxy: proxy.shown, port: target.port };
  switch (opening.kind) {
    case 'open': {
      opening.socket.destroy();
      const via = opening.address === endpoint.host ? '' : ` (${opening.address})`;
      return pass(
        `the proxy ${proxy.shown}${via} opened a tunnel to ${where} (${opening.status})`,
        { data: { ...data, proxyAddress: opening.address, httpStatus: opening.statusCode } },
      );
    }
    case 'refused':
      return refused(opening, proxy, target, data);
    case 'timeout':
      return timedOut(opening.stage, proxy, target, timeoutMs, data);
    case 'unreachable':
      return unreachable(
        opening.code === 'ECONNREFUSED'
          ? `nothing is listening on the proxy's ${endpoint.where} (ECONNREFUSED)`
          : `cannot connect to the proxy at ${endpoint.where} (${opening.code ?? opening.message})`,
        target,
        { ...data, code: opening.code ?? null },
      );
    case 'broken':
      return fail(
        'proxy-error',
        `the proxy ${proxy.shown} opened no tunnel to ${where}: ${opening.message}`,
        `check that ${variableOf(target)} names an HTTP proxy (http://host:port) that takes CONNECT requests, and its port; ${directly(target)}`,
        { data },
      );
  }
}

/** No tunnel within `timeoutMs`, `stage` saying how far it got. */
function timedOut(
  stage: Extract<TunnelOpening, { kind: 'timeout' }>['stage'],
  proxy: ForwardProxy,
  target: Target,
  timeoutMs: number,
  data: Record<string, unknown>,
): CheckOutcome {
  const where = hostAndPort(target);
  const facts = { data: { ...data, timeoutMs } };
  if (stage === 'connect') {
    return unreachable(
      `no answer from the proxy at ${proxyEndpoint(proxy).where} within ${timeoutMs} ms`,
      target,
      facts.data,
    );
  }
  if (stage === 'tls') {
    return fail(
      'proxy-error',
      `the proxy ${proxy.shown} took the connection but did not finish a TLS handshake within ${timeoutMs} ms`,
      `most proxies take plain HTTP, for https:// servers too: write http:// in the proxy URL of ${variableOf(target)}, unless the proxy serves TLS`,
      facts,
    );
  }
  return fail(
    'proxy-timeout',
    `the proxy ${proxy.shown} took the connection but did not answer CONNECT ${where} within ${timeoutMs} ms`,
    `the proxy may still be trying to reach ${where} (a firewall past the proxy that drops its packets looks so), or be overloaded: check that the proxy can reach the server, or run with a larger --timeout`,
    facts,
  );
}

/** No connection to the proxy at all. */
function unreachable(summary: string, target: Target, data: Record<string, unknown>): CheckOutcome {
  return fail(
    'proxy-unreachable',
    summary,
    `check the host and port in ${variableOf(target)}, and that the proxy runs; ${directly(target)}`,
    { data },
  );
}

/** The proxy answered `CONNECT` with its refusal. */
function refused(
  opening: Extract<TunnelOpening, { kind: 'refused' }>,
  proxy: ForwardProxy,
  target: Target,
  data: Record<string, unknown>,
): CheckOutcome {
  const where = hostAndPort(target);
  const said = `the proxy ${proxy.shown} refused a tunnel to ${where} (${opening.status})`;
  const facts = { data: { ...data, httpStatus: opening.statusCode } };
  // tinyproxy answers credentials it does not accept with 401, not 407.
  if (opening.statusCode === 407 || opening.statusCode === 401) {
    return proxy.authorization === undefined
      ? fail(
          'proxy-auth',
          `${said}: it wants a user name and password`,
          `give them in the proxy URL of ${variableOf(target)}: http://user:password@host:port (percent-encode a character such as @ or : in them)`,
          facts,
        )
      : fail(
          'proxy-auth',
          `${said}: it does not accept the user name and password in the proxy URL`,
          `check the user name and password in the proxy URL of ${variableOf(target)} (http://user:password@host:port, a character such as @ or : percent-encoded)`,
          facts,
        );
  }
  if (opening.statusCode >= 500) {
    return fail(
      'proxy-upstream',
      `${said}: it could not reach the server`,
      `the server may be down, or not reachable from the proxy: check that it runs and listens on ${where} as the proxy sees it (localhost and 127.0.0.1 are the proxy's own); ${directly(target)}`,
      facts,
    );
  }
  return fail(
    'proxy-refused',
    `${said}: it does not allow this tunnel`,
    `many proxies allow CONNECT only to port 443: ask for ${where} to be allowed, serve the socket on port 443, or ${directly(target)}`,
    facts,
  );
}

/** The variables that name the proxy for the target's scheme. */
function variableOf(target: Target): string {
  return target.secure ? 'HTTPS_PROXY (or ALL_PROXY)' : 'HTTP_PROXY (or ALL_PROXY)';
}

/** The way around the proxy. */
function directly(target: Target): string {
  return `if ${target.host} can be reached without the proxy, list it in NO_PROXY`;
}
