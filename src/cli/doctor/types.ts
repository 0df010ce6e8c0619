/**
 * The result shape of `task-status doctor`: one {@link CheckResult} per step, in a fixed order,
 * with a machine-readable {@link DoctorCause} for every warning and failure. `--json` prints a
 * {@link DoctorReport}; tests and scripts match on `id`, `verdict` and `cause`.
 */

/** The steps, in the order they run. */
export const CHECK_IDS = [
  'dns',
  'tcp',
  'tls',
  'health',
  'url',
  'upgrade',
  'auth',
  'heartbeat',
  'reconnect',
] as const;

/** One step of the doctor. */
export type CheckId = (typeof CHECK_IDS)[number];

/** `skip`: not run because an earlier step it needs failed. */
export type Verdict = 'pass' | 'warn' | 'fail' | 'skip';

/**
 * Why a step warned or failed. The table with each cause's fix is in `docs/cli.md`.
 */
export type DoctorCause =
  // dns, tcp
  | 'invalid-url'
  | 'dns-failed'
  | 'connection-refused'
  | 'tcp-timeout'
  | 'tcp-error'
  // dns, tcp behind a proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY)
  /** No connection to the proxy: its name does not resolve, nothing listens, or no answer. */
  | 'proxy-unreachable'
  /** The proxy answered `CONNECT` with 407 or 401: credentials missing or not accepted. */
  | 'proxy-auth'
  /** The proxy answered `CONNECT` with 403 or another 4xx: no tunnel to this host and port. */
  | 'proxy-refused'
  /** The proxy answered `CONNECT` with a 5xx: it could not reach the server. */
  | 'proxy-upstream'
  /** The proxy took the connection but did not answer `CONNECT` within --timeout. */
  | 'proxy-timeout'
  /** The proxy answered `CONNECT` with something that is not HTTP, or closed the connection. */
  | 'proxy-error'
  // tls (wss: targets only)
  /** No CA trusted here leads to the certificate: self-signed, a private CA, a missing intermediate. */
  | 'tls-untrusted'
  /** The certificate's notAfter has passed (or this machine's clock is ahead). */
  | 'tls-expired'
  /** The certificate's notBefore is still to come: a clock behind, here or on the server. */
  | 'tls-not-yet-valid'
  /** A warning: the certificate expires within 14 days. */
  | 'tls-expiring'
  /** The certificate does not name the host of --base-url. */
  | 'tls-hostname'
  /** The port answered the handshake with something else, such as plain HTTP. */
  | 'tls-not-tls'
  /** The port took the connection but did not finish the handshake within --timeout. */
  | 'tls-timeout'
  /** Any other handshake failure or certificate refusal. */
  | 'tls-error'
  // health
  | 'health-status'
  | 'health-web-page'
  | 'health-unreachable'
  // url
  | 'doubled-prefix'
  // upgrade
  | 'route-not-found'
  | 'upgrade-not-forwarded'
  | 'upgrade-auth-rejected'
  | 'upgrade-rejected'
  | 'handshake-timeout'
  | 'slow-upgrade'
  | 'upgrade-error'
  // auth
  | 'no-ack'
  | 'slow-ack'
  | 'ack-user-mismatch'
  | 'auth-error-frame'
  | 'auth-text-frame'
  | 'auth-close-code'
  | 'auth-http-status'
  | 'verdict-timeout'
  | 'closed-before-verdict'
  | 'connect-failed'
  // heartbeat
  | 'heartbeat-timeout'
  | 'no-pong'
  | 'text-ping-only'
  | 'connection-lost'
  // reconnect
  | 'reconnect-failed'
  | 'reconnect-timeout';

/** The outcome of one step. */
export interface CheckResult {
  readonly id: CheckId;
  /** Short human name of the step, e.g. `HTTP upgrade`. */
  readonly title: string;
  readonly verdict: Verdict;
  /** Set for `warn` and `fail`; `null` otherwise. */
  readonly cause: DoctorCause | null;
  /** One line: what was seen, with numbers (status codes, milliseconds). */
  readonly summary: string;
  /** More lines of explanation, possibly none. */
  readonly notes: readonly string[];
  /** What to change, for `warn` and `fail`; `null` otherwise. */
  readonly fix: string | null;
  /** How long the step took. */
  readonly durationMs: number;
  /** Facts for machines: `httpStatus`, `closeCode`, `serverCode`, `rttMs`, … */
  readonly data: Readonly<Record<string, unknown>>;
}

/** Everything `doctor --json` prints. */
export interface DoctorReport {
  /** True when no step failed (warnings allowed). */
  readonly ok: boolean;
  /** The canonical socket URL, token masked; `null` if the base URL is unusable. */
  readonly url: string | null;
  /**
   * The forward proxy the sockets go through (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`), without
   * its user name and password; `null` when none applies.
   */
  readonly proxy: string | null;
  readonly userId: string;
  readonly checks: readonly CheckResult[];
}

/** A result under construction: `id` and `title` are filled in by the runner. */
export type CheckOutcome = Omit<
  CheckResult,
  'id' | 'title' | 'durationMs' | 'notes' | 'fix' | 'data'
> &
  Partial<Pick<CheckResult, 'notes' | 'fix' | 'data'>>;

/** Builds a passing outcome. */
export function pass(summary: string, extra: Partial<CheckOutcome> = {}): CheckOutcome {
  return { verdict: 'pass', cause: null, summary, ...extra };
}

/** Builds a warning outcome. */
export function warn(
  cause: DoctorCause,
  summary: string,
  fix: string,
  extra: Partial<CheckOutcome> = {},
): CheckOutcome {
  return { verdict: 'warn', cause, summary, fix, ...extra };
}

/** Builds a failing outcome. */
export function fail(
  cause: DoctorCause,
  summary: string,
  fix: string,
  extra: Partial<CheckOutcome> = {},
): CheckOutcome {
  return { verdict: 'fail', cause, summary, fix, ...extra };
}
