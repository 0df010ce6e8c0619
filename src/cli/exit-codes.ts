/**
 * Exit codes of the `task-status` command, one table for every subcommand (`docs/cli.md` has it
 * too). Scripts can tell "the tasks failed" from "the connection failed" from "interrupted".
 */
export const ExitCode = {
  /** Everything passed: all watched tasks completed, every doctor check passed, the demo ran. */
  Ok: 0,
  /** A watched task ended other than `completed`, or a doctor check failed. */
  Failed: 1,
  /** Bad arguments: unknown option, missing token, unset `--token-env` variable. */
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
