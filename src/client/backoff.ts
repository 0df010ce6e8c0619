import type { Complete, ReconnectOptions } from './options.js';

/**
 * Delay before reconnect attempt number `attempt` (0 for the first retry): exponential growth
 * capped at `maxDelayMs`, then jitter so a fleet of clients dropped together does not return
 * together. `random` returns a number in [0, 1).
 */
export function reconnectDelay(
  policy: Complete<ReconnectOptions>,
  attempt: number,
  random: () => number,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** attempt);
  switch (policy.jitter) {
    case 'none':
      return cap;
    case 'equal':
      return cap / 2 + clampUnit(random()) * (cap / 2);
    default:
      return clampUnit(random()) * cap;
  }
}

/** Guards against a random source that strays outside [0, 1). */
function clampUnit(value: number): number {
  return value >= 0 && value < 1 ? value : value >= 1 ? 1 : 0;
}
