import { maskToken, tokenForms } from '../url.js';

/** A command-line mistake: printed as one `error:` line on stderr, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The flags that carry a token: exactly one of them must be given. */
export interface TokenFlags {
  readonly token?: string | undefined;
  readonly tokenEnv?: string | undefined;
}

/**
 * The token from `--token` or from the environment variable named by `--token-env`.
 * `--token-env` keeps the token out of the process list and shell history.
 *
 * @throws {UsageError} when neither or both are given, or the variable is unset or empty.
 */
export function resolveToken(flags: TokenFlags, env: NodeJS.ProcessEnv): string {
  const { token, tokenEnv } = flags;
  if (token !== undefined && tokenEnv !== undefined) {
    throw new UsageError('pass either --token or --token-env, not both');
  }
  if (tokenEnv !== undefined) {
    const value = env[tokenEnv];
    if (value === undefined || value.trim() === '') {
      // Named the usual way (TS_TOKEN), it is shown; anything else may be the token itself,
      // passed by mistake as `--token-env "$TOKEN"`.
      throw new UsageError(
        /^[A-Z_][A-Z\d_]{0,63}$/.test(tokenEnv)
          ? `--token-env ${tokenEnv}: the environment variable is unset or empty`
          : '--token-env takes the name of an environment variable (such as TS_TOKEN), not the token: no variable of that name is set',
      );
    }
    return value;
  }
  if (token === undefined) {
    throw new UsageError('a token is required: pass --token <jwt> or --token-env <VAR>');
  }
  if (token.trim() === '') throw new UsageError('--token must not be empty');
  return token;
}

/**
 * Returns a function that masks `token` wherever it appears, raw, percent-encoded or
 * JSON-escaped: in a server message or an error that echoes it. Every line the command prints
 * goes through it, as a last line of defence; URLs are masked where they are made (`redactUrl`).
 * (Not `redactUrl` here: its pattern runs on to the next `&`, `#` or blank, so on a JSON document
 * it would swallow the closing quote of a `"…?token=***"` string.)
 */
export function createScrubber(token: string): (text: string) => string {
  const forms = tokenForms(token);
  return (text) => maskToken(text, forms);
}

/**
 * A `JSON.stringify` replacer that masks the token in every string value, and nowhere else.
 * Masking the serialised text instead would also hit the JSON around the strings: a token such
 * as `1008` would turn `"closeCode":1008` into `"closeCode":***`, which is not JSON. Each string
 * is masked before it is encoded, whose escaping would hide the token's JSON-escaped forms (a
 * message holding `\u00fc` is written `\\u00fc`). The command's own keys cannot hold the token;
 * the keys of the server's objects are masked with {@link maskKeys}.
 */
export function maskingReplacer(
  scrub: (text: string) => string,
): (key: string, value: unknown) => unknown {
  return (_key, value) => (typeof value === 'string' ? scrub(value) : value);
}

/**
 * `value`, a JSON value from the server (a task's `result` or `error`), with the token masked in
 * its keys at every depth; its strings are left to {@link maskingReplacer}.
 */
export function maskKeys(value: unknown, scrub: (text: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => maskKeys(item, scrub));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [scrub(key), maskKeys(item, scrub)]),
  );
}
