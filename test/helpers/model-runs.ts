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
