/**
 * Exit codes of the `task-status` command, one table for every subcommand (`docs/cli.md` has it
 * too). Scripts can tell "the tasks failed" from "the connection failed" from "interrupted".
 */
export const ExitCode = {
  /** Everything passed: all watched tasks completed, every doctor check passed, the demo ran. */
  Ok: 0,
  /** A watched task ended other than `completed`, or a doctor check failed. */
  Failed: 1,
  /**
   * Bad arguments: unknown option, missing token, unset `--token-env` variable, a `--base-url` or
   * `--path` the SDK cannot use.
   */
  Usage: 2,
  /** `watch` gave up on the connection (token refused, reconnect attempts exhausted). */
  ConnectionFailed: 3,
  /** Stopped by Ctrl-C (SIGINT), after closing the client: 128 + 2, as shells report it. */
  Interrupted: 130,
  /** Stopped by SIGTERM, after closing the client: 128 + 15. */
  Terminated: 143,
} as const;

/** One of the codes in {@link ExitCode}. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Why a command was stopped from outside, as the `reason` of its abort signal: Ctrl-C, SIGTERM,
 * or `EPIPE`, the reader of its output gone (`watch --json | head -1`).
 */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'EPIPE';

/**
 * The exit code for a stop: 143 for SIGTERM, 0 when the reader is gone (it has read what it
 * wanted; nothing went wrong), 130 for Ctrl-C and anything else.
 */
export function stopExitCode(reason: unknown): ExitCodeValue {
  if (reason === 'SIGTERM') return ExitCode.Terminated;
  if (reason === 'EPIPE') return ExitCode.Ok;
  return ExitCode.Interrupted;
}
