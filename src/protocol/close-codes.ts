/**
 * WebSocket close codes this protocol gives a meaning to. What the client does on each is decided
 * in one place, `client/close-policy.ts`; `docs/protocol.md` has the table.
 */
export const CloseCode = {
  /** Normal closure. From the server (Starlette's default after an error frame) it is not final. */
  Normal: 1000,
  /** The server is going away (restart, deploy). */
  GoingAway: 1001,
  /** The peer saw a protocol error. */
  ProtocolError: 1002,
  /** The peer got data it cannot accept. */
  UnsupportedData: 1003,
  /** No status code was present in the close frame. */
  NoStatus: 1005,
  /** The connection dropped without a close frame (also every rejected handshake in browsers). */
  Abnormal: 1006,
  /** A message was not consistent with its type. */
  InvalidPayload: 1007,
  /** Policy violation: what the server sends when authentication fails. */
  PolicyViolation: 1008,
  /** A message was too big. */
  MessageTooBig: 1009,
  /** The server hit an unexpected condition. */
  InternalError: 1011,
  /** The server is restarting. */
  ServiceRestart: 1012,
  /** The server is overloaded: try again later. */
  TryAgainLater: 1013,
  /** A gateway got a bad answer upstream. */
  BadGateway: 1014,
  /** Application code: unauthorized. */
  Unauthorized: 4001,
  /** Application code: forbidden. */
  Forbidden: 4003,
  /** Application code: unauthorized (HTTP 401 style). */
  Unauthorized4401: 4401,
  /** Application code: forbidden (HTTP 403 style). */
  Forbidden4403: 4403,
} as const;

/** One of the close codes named in {@link CloseCode}. */
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes that mean "your credentials were refused". */
export const AUTH_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.PolicyViolation,
  CloseCode.Unauthorized,
  CloseCode.Forbidden,
  CloseCode.Unauthorized4401,
  CloseCode.Forbidden4403,
]);
