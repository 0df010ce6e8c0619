import pc from 'picocolors';

/** picocolors' formatters (`green`, `dim`, …), each a no-op when colours are off. */
export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colours for text written to `stream`: on a terminal only, unless `NO_COLOR` turns them off or
 * `FORCE_COLOR` on. picocolors' own choice also colours a pipe or a file when `CI` is set, which
 * would put escape codes in a CI job's saved report.
 */
export function colorsFor(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): Colors {
  const { NO_COLOR, FORCE_COLOR, TERM } = env;
  const onTerminal = stream.isTTY === true && TERM !== 'dumb';
  return pc.createColors(!NO_COLOR && (Boolean(FORCE_COLOR) || onTerminal));
}
