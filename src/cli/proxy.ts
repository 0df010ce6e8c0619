import type { ClientRequest, IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { HttpsProxyAgent, type HttpsProxyAgentOptions } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import NodeWebSocket from 'ws';
import type { WebSocketConstructor } from '../index.js';
import { UsageError } from './secrets.js';

/** A forward (HTTP CONNECT) proxy that the command's connections go through. */
export interface ForwardProxy {
  /** The proxy's URL as shown: its user name and password left out. */
  readonly shown: string;
  /**
   * The `Proxy-Authorization` header (Basic) made of the user name and password of the proxy
   * URL, if it has any.
   */
  readonly authorization: string | undefined;
  /** The agent that opens a tunnel through the proxy, for `ws` and `node:http(s)`. */
  readonly agent: HttpsProxyAgent<string>;
}

/**
 * The proxy for a connection to `target` (an `http(s):` or `ws(s):` URL), picked from the
 * environment as curl and npm pick it: `HTTPS_PROXY` for `https:` and `wss:`, `HTTP_PROXY` for
 * `http:` and `ws:`, else `ALL_PROXY` (each in either case), unless `NO_PROXY` lists the host.
 * `undefined` when no proxy applies, or `target` is not a URL. Every connection goes through a
 * `CONNECT` tunnel, `ws:` too: a proxy that forwards plain requests does not pass a WebSocket
 * upgrade on.
 *
 * @throws {UsageError} for a proxy URL that cannot be used.
 */
export function proxyFor(target: string): ForwardProxy | undefined {
  if (!URL.canParse(target)) return undefined; // the client reports the URL itself
  const url = new URL(target);
  // The variable is picked by scheme: a socket goes where its http(s) twin would.
  url.protocol = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:';
  const value = getProxyForUrl(url.href);
  if (value === '') return undefined;
  let proxy: URL;
  try {
    proxy = new URL(value);
  } catch {
    throw new UsageError(`the proxy URL from the environment is not a URL: ${redactProxy(value)}`);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new UsageError(
      `the proxy ${shownProxy(proxy)} is not an http:// or https:// proxy; only HTTP CONNECT proxies are supported`,
    );
  }
  const shown = shownProxy(proxy);
  const authorization = basicAuthorization(proxy);
  // The agent gets the URL without the user name and password, which it would otherwise print
  // with its debug output (`DEBUG=*`): they go in its header instead.
  const headers = authorization === undefined ? {} : { 'Proxy-Authorization': authorization };
  return {
    shown,
    authorization,
    agent: new TunnelAgent(shown, authorization !== undefined, { headers }),
  };
}

/**
 * `Basic …` of the user name and password in `proxy`, percent-decoded; none without them.
 * @throws {UsageError} when one of them is not validly percent-encoded.
 */
function basicAuthorization(proxy: URL): string | undefined {
  if (proxy.username === '' && proxy.password === '') return undefined;
  let pair: string;
  try {
    pair = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  } catch {
    throw new UsageError(
      `the user name or password in the proxy URL of ${shownProxy(proxy)} has a % that starts no valid escape: write % as %25`,
    );
  }
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

/** `WebSocket` (of `ws`) whose every socket goes through `proxy`, or `ws` itself for none. */
export function webSocketThrough(proxy: ForwardProxy | undefined): WebSocketConstructor {
  if (proxy === undefined) return NodeWebSocket as unknown as WebSocketConstructor;
  const { agent } = proxy;
  class ProxiedWebSocket extends NodeWebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { agent });
    }
  }
  return ProxiedWebSocket as unknown as WebSocketConstructor;
}

/**
 * The options of a `ws` socket (or a `node:http` request) that goes through `proxy`: its agent.
 * None for no proxy, so that such a socket is opened exactly as without the option.
 */
export function throughProxy(
  proxy: ForwardProxy | undefined,
): { readonly agent: HttpsProxyAgent<string> } | Record<string, never> {
  return proxy === undefined ? {} : { agent: proxy.agent };
}

/** What a proxy answered to `CONNECT`, as `https-proxy-agent` reports it. */
interface ConnectAnswer {
  readonly statusCode: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * `HttpsProxyAgent`, whose failures name the proxy. A refused tunnel fails the request with an
 * error that says why, instead of handing the proxy's answer on as if the server had given it:
 * a proxy's `403` would otherwise read as the server refusing the token.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  readonly #shown: string;
  readonly #credentials: boolean;

  constructor(shown: string, credentials: boolean, options: HttpsProxyAgentOptions<string>) {
    super(shown, options);
    this.#shown = shown;
    this.#credentials = credentials;
  }

  override async connect(
    request: ClientRequest,
    options: Parameters<HttpsProxyAgent<string>['connect']>[1],
  ): Promise<Socket> {
    let answer: ConnectAnswer | undefined;
    request.once('proxyConnect', (connect: ConnectAnswer) => {
      answer = connect;
    });
    let socket: Socket;
    try {
      socket = await super.connect(request, options);
    } catch (error) {
      throw new Error(`proxy ${this.#shown}: ${error instanceof Error ? error.message : error}`);
    }
    if (answer === undefined || answer.statusCode === 200) return socket;
    socket.destroy();
    const target = `${options.host}:${options.port}`;
    const status = `${answer.statusCode} ${answer.statusText}`.trim();
    const hint = refusalHint(answer.statusCode, target, this.#credentials);
    throw new Error(
      `proxy ${this.#shown} refused a tunnel to ${target} (${status})${hint ? `: ${hint}` : ''}`,
    );
  }
}

/**
 * What to do about a proxy's refusal of a tunnel, by its status. Some proxies (tinyproxy) answer
 * wrong credentials with `401`, not `407`.
 */
function refusalHint(status: number, target: string, credentials: boolean): string {
  if (status === 407 || status === 401) {
    return credentials
      ? 'the proxy does not accept the user name and password in the proxy URL'
      : 'the proxy wants a user name and password: give them in the proxy URL (http://user:password@host:port)';
  }
  if (status === 403) {
    return `the proxy does not allow this tunnel (many allow CONNECT only to port 443): ask for ${target} to be allowed, serve the socket on port 443, or list the host in NO_PROXY if it can be reached directly`;
  }
  if (status >= 500) {
    return `the proxy could not reach ${target}: the server may be down, or not reachable from the proxy`;
  }
  return '';
}

/** `proxy` with no user name or password, and no trailing slash. */
function shownProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/** A proxy value that is not a URL, with anything that may be a password (`user:pw@`) cut out. */
function redactProxy(value: string): string {
  return value.replace(/^([^/]*\/\/)?[^@/]*@/, '$1***@');
}
