import type { StopReason } from './exit-codes.js';

/**
 * Stops the command, through `controller`, when its output cannot be written, instead of the
 * `error` event crashing the process with a stack trace.
 *
 * A reader that goes away (`watch --json | head -1`) makes the next write fail with EPIPE: the
 * command stops as on Ctrl-C, closing its client, and exits 0. Any other write error (ENOSPC:
 * `demo > /dev/full`) is told in one line on stderr, unless stderr is the stream that failed,
 * and the command stops the same way but exits 1. The writes still to come fail the same way and
 * are ignored.
 */
export function stopOnWriteErrors(
  streams: { readonly stdout: NodeJS.WritableStream; readonly stderr: NodeJS.WritableStream },
  controller: AbortController,
): void {
  let told = false;
  const onError = (name: 'stdout' | 'stderr') => (error: NodeJS.ErrnoException) => {
    const reason: StopReason = error.code === 'EPIPE' ? 'EPIPE' : 'write-failed';
    if (reason === 'write-failed' && !told) {
      told = true;
      if (name === 'stdout')
        streams.stderr.write(`error: cannot write to stdout: ${error.message}\n`);
    }
    if (!controller.signal.aborted) controller.abort(reason);
  };
  streams.stdout.on('error', onError('stdout'));
  streams.stderr.on('error', onError('stderr'));
}
