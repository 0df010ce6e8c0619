/**
 * Entry of the `task-status` command (`bin` in package.json). The build adds the
 * `#!/usr/bin/env node` line (tsup `banner`); `npm run demo` runs this file through tsx.
 */
import { type StopReason, stopExitCode } from './exit-codes.js';
import { main } from './program.js';
import { stopOnWriteErrors } from './write-errors.js';

const controller = new AbortController();
/**
 * The first Ctrl-C (or SIGTERM) aborts, and the command closes its client and exits 130 (143);
 * a second one exits at once. `on`, not `once`: signal-exit (under log-update's cursor handling)
 * kills the process itself when it finds no other listener for the signal.
 */
const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
  if (!controller.signal.aborted) controller.abort(signal satisfies StopReason);
  else process.exit(stopExitCode(signal));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
stopOnWriteErrors(process, controller);

const code = await main(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, env: process.env },
  controller.signal,
);
process.exitCode = code;
// Everything is closed by now; a probe socket cut short by Ctrl-C must not hold the exit up.
setTimeout(() => process.exit(code), 1_000).unref();
