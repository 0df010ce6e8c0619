import { env } from 'node:process';

/**
 * The fast-check parameters of a model-based test: `numRuns` runs by default, more with
 * `MODEL_RUNS=300` to explore locally, and `MODEL_SEED` to replay the seed of a failure.
 */
export function modelRuns(numRuns: number): { numRuns: number; seed?: number } {
  const { MODEL_RUNS: runs, MODEL_SEED: seed } = env;
  return {
    numRuns: runs === undefined ? numRuns : Number(runs),
    ...(seed === undefined ? {} : { seed: Number(seed) }),
  };
}

/**
 * Runs `run` with every unhandled rejection and uncaught exception of the process collected in
 * the array it is given, rather than failing the test file at some later point.
 */
export async function collectUncaught(run: (uncaught: unknown[]) => Promise<void>): Promise<void> {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('unhandledRejection', onUncaught);
  process.on('uncaughtException', onUncaught);
  try {
    await run(uncaught);
  } finally {
    process.off('unhandledRejection', onUncaught);
    process.off('uncaughtException', onUncaught);
  }
}
