import {
  type AuthErrorInfo,
  CloseCode,
  type ParsedFrame,
  type TaskStatusError,
} from '../../index.js';
import { type CheckOutcome, fail } from './types.js';

/** What the session saw of a refusal besides the error: the `authError` event, the first frame. */
export interface RefusalFacts {
  /** The client's `authError` event, if it emitted one. */
  readonly info: AuthErrorInfo | undefined;
  /** The kind of the first frame the socket received, if any. */
  readonly firstFrame: ParsedFrame['kind'] | undefined;
}

/**
 * The auth step's failure, from the error `connect()` rejected with and what the client's
 * `authError` event said: an error frame (JSON or plain text) with the server's code and
 * message, a bare close code, a 401/403 upgrade, or no verdict at all.
 */
export function refusal(
  error: TaskStatusError,
  facts: RefusalFacts,
  ms: number,
  timeoutMs: number,
): CheckOutcome {
  // With no frame, the event's message is the close reason, which `auth-close-code` reports as
  // such: the server's message here is what a frame said.
  const closeOnly = facts.firstFrame === undefined && facts.info?.code === null;
  const info = closeOnly && facts.info ? { ...facts.info, message: null } : facts.info;
  const data = {
    ms,
    errorCode: error.code,
    serverCode: info?.code ?? null,
    serverMessage: info?.message ?? null,
    closeCode: error.closeCode ?? null,
    httpStatus: info?.httpStatus ?? null,
  };
  if (error.code === 'AUTH_FAILED') return refusedToken(error, { ...facts, info }, data);
  if (error.code === 'HANDSHAKE_TIMEOUT') {
    return fail(
      'verdict-timeout',
      `no verdict within ${timeoutMs} ms: ${error.message}`,
      'the socket opened but the server neither accepted (a frame) nor refused (error frame, close): look for slow token checks after websocket.accept()',
      { data },
    );
  }
  if (error.code === 'CONNECTION_LOST') {
    return fail(
      'closed-before-verdict',
      `the server closed the socket before any verdict (close ${error.closeCode ?? '?'}${error.closeReason ? ` "${error.closeReason}"` : ''})`,
      'the handler ends without accepting or refusing: see the server log; send an error frame before closing',
      { data },
    );
  }
  return fail(
    'connect-failed',
    error.message,
    'see the upgrade step: this connection failed before any verdict',
    {
      data,
    },
  );
}

/**
 * The server refused the token: say how, with its code and message. The first frame's kind, not
 * the presence of a code, tells a JSON error frame from plain text: `{"type":"error","message":…}`
 * has no code either.
 */
function refusedToken(
  error: TaskStatusError,
  { info, firstFrame }: RefusalFacts,
  data: Record<string, unknown>,
): CheckOutcome {
  // 1006 is no close frame at all: the server sent none (within the wait), or dropped the link.
  const closed = error.closeCode !== CloseCode.Abnormal;
  const close =
    error.closeCode === undefined
      ? ''
      : closed
        ? `, then close ${error.closeCode}`
        : ', then no close from the server';
  const closeNotes = closed
    ? []
    : [
        'close the socket after the error frame: until the close comes, a client cannot tell a refusal from a slow server',
      ];
  if (info?.httpStatus !== undefined) {
    return fail(
      'auth-http-status',
      `refused: HTTP ${info.httpStatus} on the upgrade`,
      authFix(null),
      { data },
    );
  }
  if (firstFrame === 'error' || (firstFrame === undefined && info?.code)) {
    const code = info?.code ?? null;
    return fail(
      'auth-error-frame',
      `refused: error frame ${code ?? 'without a code'}: "${info?.message ?? ''}"${close}`,
      authFix(code),
      {
        data,
        notes: [
          ...(code === null
            ? [
                'the error frame has no "code": the SDK copes, but a code lets clients tell an expired token from a wrong one',
              ]
            : []),
          ...closeNotes,
        ],
      },
    );
  }
  if (info?.message) {
    // JSON of another shape (FastAPI's own `{"detail": "Not authenticated"}`, say), or plain text.
    const json = firstFrame !== undefined && firstFrame !== 'text';
    const shape = '{"type":"error","code":…,"message":…}';
    return fail(
      json ? 'auth-error-frame' : 'auth-text-frame',
      `refused: ${json ? 'JSON frame without "type":"error":' : 'plain-text frame'} "${info.message}"${close}`,
      authFix(null),
      {
        data,
        notes: [
          json
            ? `the frame is JSON but not ${shape}: the SDK copes, but that shape with a code lets clients tell an expired token from a wrong one`
            : `the server writes errors as plain text, not ${shape}: the SDK copes, but a JSON frame with a code lets clients tell an expired token from a wrong one`,
          ...closeNotes,
        ],
      },
    );
  }
  return fail(
    'auth-close-code',
    `refused: close ${error.closeCode ?? '?'}${error.closeReason ? ` "${error.closeReason}"` : ''} with no error frame`,
    authFix(null),
    { data, notes: ['send an error frame before closing, so clients can say why'] },
  );
}

function authFix(code: string | null): string {
  if (code !== null && /expired/i.test(code)) {
    return 'the token has expired: get a fresh one (in an app, give the client a token function so it can refresh)';
  }
  if (code !== null && /forbidden|permission/i.test(code)) {
    return 'the token is valid but not for this user: --user must be the user the token was issued to';
  }
  if (code === 'internal_error') {
    return 'the server failed while checking the token: see its log (is its database or Redis reachable?)';
  }
  return "the server rejects this token: check that it is signed with the backend's SECRET_KEY and algorithm, has not expired, and belongs to --user";
}
