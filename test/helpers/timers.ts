/** Live ref'd timers (`setTimeout`/`setInterval`) of this thread. */
export function liveTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}
