/**
 * Exit codes of the `task-status` command, one table for every subcommand (`docs/cli.md` has it
 * too). Scripts can tell "the tasks failed" from "the connection failed" from "interrupted".
 */
export const ExitCode = {
  /** Everything passed: all watched tasks completed, every doctor check passed, the demo ran. */
  Ok: 0,
  /**
   * A watched task ended other than `completed`, a doctor check failed, or the command could not
   * run or write its output (a port in use, a full disk).
   */
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
 * `EPIPE`, the reader of its output gone (`watch --json | head -1`), or `write-failed`, its
 * output could not be written for another reason (`ENOSPC`: a full disk).
 */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'EPIPE' | 'write-failed';

/**
 * The exit code for a stop: 143 for SIGTERM, 0 when the reader is gone (it has read what it
 * wanted; nothing went wrong), 1 when the output could not be written, 130 for Ctrl-C and
 * anything else.
 */
export function stopExitCode(reason: unknown): ExitCodeValue {
  if (reason === 'SIGTERM') return ExitCode.Terminated;
  if (reason === 'EPIPE') return ExitCode.Ok;
  if (reason === 'write-failed') return ExitCode.Failed;
  return ExitCode.Interrupted;
}
