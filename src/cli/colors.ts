import pc from 'picocolors';

/** picocolors' formatters (`green`, `dim`, …), each a no-op when colours are off. */
export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colours for text written to `stream`: on a terminal only, unless `NO_COLOR` turns them off or
 * `FORCE_COLOR` decides (`0` or `false` off, any other value on). picocolors' own choice also
 * colours a pipe or a file when `CI` is set, which would put escape codes in a CI job's saved
 * report, and reads `FORCE_COLOR=0` as on.
 */
export function colorsFor(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): Colors {
  const { NO_COLOR, FORCE_COLOR, TERM } = env;
  const onTerminal = stream.isTTY === true && TERM !== 'dumb';
  // As Node reads it: set, it decides, and `0` or `false` means no colour.
  const forced =
    FORCE_COLOR === undefined ? undefined : FORCE_COLOR !== '0' && FORCE_COLOR !== 'false';
  return pc.createColors(!NO_COLOR && (forced ?? onTerminal));
}
