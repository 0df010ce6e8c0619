import { describe, expect, it } from 'vitest';
import { colorsFor } from '../../src/cli/colors.js';
import { runCli, setupServers, userArgs } from './helpers.js';

const TOKEN = 'plain-output-token-of-user-2';
const start = setupServers(TOKEN);
const ESC = '\u001b';

describe("doctor's report off a terminal", () => {
  it('is plain text in CI, where picocolors would colour a pipe', async () => {
    const server = await start();
    const result = await runCli(userArgs('doctor', server.url, TOKEN, '--timeout', '800'), {
      NO_COLOR: undefined,
      CI: 'true',
    });
    expect(result.stdout).toContain('✔ Heartbeat');
    expect(result.stdout).not.toContain(ESC);
    expect(result.code).toBe(0);
  });
});

describe('colorsFor', () => {
  const red = (isTTY: boolean, env: NodeJS.ProcessEnv) => colorsFor({ isTTY }, env).red('x');

  it('colours a terminal and nothing else, CI or not', () => {
    expect(red(true, {})).toContain(ESC);
    expect(red(false, {})).toBe('x');
    expect(red(false, { CI: 'true' })).toBe('x');
    expect(red(true, { TERM: 'dumb' })).toBe('x');
  });

  it('leaves colours off with NO_COLOR and forces them with FORCE_COLOR', () => {
    expect(red(true, { NO_COLOR: '1' })).toBe('x');
    expect(red(false, { FORCE_COLOR: '1' })).toContain(ESC);
    expect(red(false, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe('x');
    // As Node reads it: 0 or false asks for no colour, even on a terminal.
    expect(red(true, { FORCE_COLOR: '0' })).toBe('x');
    expect(red(true, { FORCE_COLOR: 'false' })).toBe('x');
    expect(red(false, { FORCE_COLOR: '' })).toContain(ESC);
  });
});
