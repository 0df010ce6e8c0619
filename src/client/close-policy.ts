import { TaskStatusError } from '../errors.js';
import { AUTH_CLOSE_CODES } from '../protocol/close-codes.js';
import type { ConnectionEnd } from './connection.js';

/** What the client does after a connection ends. */
export type CloseDecision = 'stop' | 'auth' | 'reconnect';

/** The facts `decideAfterClose` weighs. */
export interface CloseFacts {
  /** WebSocket close code. */
  readonly code: number;
  /** The user called `close()` (or aborted the signal). */
  readonly userInitiated: boolean;
  /**
   * The connection read a refusal in a frame: an error frame or text before the verdict (unless
   * a restart's close followed it), or one that speaks of credentials after it (`isAuthError`).
   */
  readonly authErrorFrame: boolean;
  /** The HTTP upgrade was refused with 401 or 403 (visible in Node only). */
  readonly authHttpStatus: boolean;
}

/**
 * The close-code policy, in one pure function (the table is in `docs/connection.md`):
 * a user close stops; an auth error frame, a 401/403 upgrade, or close code 1008, 4001, 4003,
 * 4401, 4403 is an auth failure; every other close (a server-initiated 1000, 1001, 1005, 1006,
 * 1011–1014, other 4xxx) reconnects.
 */
export function decideAfterClose(facts: CloseFacts): CloseDecision {
  if (facts.userInitiated) return 'stop';
  if (facts.authErrorFrame || facts.authHttpStatus || AUTH_CLOSE_CODES.has(facts.code)) {
    return 'auth';
  }
  return 'reconnect';
}

const AUTH_ERROR_CODE =
  /auth|token|jwt|forbidden|unauthori[sz]ed|credential|permission|^(?:40[13]|4[04]0[13]|1008)$/i;

/**
 * A message that speaks of credentials. Narrower than the code rule, since a message is prose:
 * "max 8192 tokens" or "Authenticated as user 2" says nothing against the token.
 */
const AUTH_MESSAGE =
  /unauthori[sz]ed|forbidden|not authenticated|authentication (?:failed|required|error)|could not validate|permission denied|access denied|(?:invalid|expired|bad|missing|wrong|malformed) (?:access )?(?:token|jwt|credential|signature)|(?:token|jwt|signature|credentials?) (?:has |is )?(?:expired|invalid|revoked)/i;

/**
 * True for an error (or a line of text) that speaks of credentials: by its code (`auth_failed`,
 * `token_expired`, `invalid_jwt`, or an HTTP or close code that does: `401`, `403`, `1008`,
 * `4001`, `4003`, `4401`, `4403`), or by its message (`Invalid token`, `Could not validate
 * credentials`, `Signature has expired`).
 */
export function isAuthError(code: string | null, message: string | null): boolean {
  return (
    (code !== null && AUTH_ERROR_CODE.test(code)) ||
    (message !== null && AUTH_MESSAGE.test(message))
  );
}

/**
 * The `AUTH_FAILED` error for a connection the server refused, with what the server said. `url`
 * (token masked) is named for an HTTP 403, which FastAPI also answers to a path it has no
 * WebSocket route for, or whose parameters fail validation.
 */
export function authFailure(
  end: ConnectionEnd,
  url: string,
  noToken?: TaskStatusError,
): TaskStatusError {
  const server = end.authError;
  const closeCode = end.opened || AUTH_CLOSE_CODES.has(end.code) ? end.code : undefined;
  let said = '';
  if (server?.code) said += ` (${server.code})`;
  if (server?.message) {
    said += `: ${server.message}`;
  } else if (end.httpStatus !== undefined) {
    said += `: HTTP ${end.httpStatus}`;
    if (end.httpStatus === 403) said += ` (or it has no WebSocket route for ${url})`;
  } else if (closeCode !== undefined) {
    said += ` (close ${closeCode}${end.reason ? ` "${end.reason}"` : ''})`;
  }
  // The refresh that followed the refusal kept failing: the refused token was all there was.
  if (noToken) said += `; the token function gave no new one, last: ${noToken.message}`;
  return new TaskStatusError('AUTH_FAILED', `The server refused the token${said}`, {
    ...(noToken ? { cause: noToken } : {}),
    ...(closeCode === undefined ? {} : { closeCode, closeReason: end.reason }),
    ...(server?.code ? { serverCode: server.code } : {}),
    ...(server?.message ? { serverMessage: server.message } : {}),
    ...(end.httpStatus === undefined ? {} : { httpStatus: end.httpStatus }),
  });
}
