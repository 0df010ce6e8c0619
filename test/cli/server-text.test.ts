import { afterEach, describe, expect, it, vi } from 'vitest';
import { startWsServer, type TestServer } from '../helpers/ws-server.js';
import { hasScript, runCli, setupServers, startCliInTerminal, userArgs } from './helpers.js';

const TOKEN = 'server-text-token-of-user-2';
const start = setupServers(TOKEN);
const scripted: TestServer[] = [];
afterEach(async () => {
  await Promise.all(scripted.splice(0).map((server) => server.close()));
});

const ESC = '\u001b';
/** A window title (OSC 0), a clipboard write (OSC 52), a cleared screen, a colour, a C1 CSI. */
const HOSTILE = `${ESC}]0;PWNED${'\u0007'}${ESC}]52;c;cHduZWQ=${'\u0007'}${ESC}[2J${ESC}[H${ESC}[41mRED\u009b2J`;

/**
 * What the command may write itself: log-update's cursor and line moves and the colours of
 * picocolors (bold, dim, red, green, yellow, cyan and their resets). None of them is in
 * {@link HOSTILE}.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
const OWN_SEQUENCES = /\u001b\[(?:\?25[lh]|2K|1A|G|(?:0|1|2|22|31|32|33|36|39)m)/g;

/** The bytes left once the command's own sequences and line ends are taken out. */
function foreign(output: string): string[] {
  const rest = output.replaceAll(OWN_SEQUENCES, '').replaceAll('\r\n', '\n');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
  return [...rest.matchAll(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202e]/g)].map(
    ([character]) => character,
  );
}

describe.runIf(hasScript)('server text in the live view of watch', () => {
  it('is shown with its control characters escaped, while the view keeps its colours', async () => {
    const server = await start();
    const cli = startCliInTerminal(
      ['watch', '--base-url', server.url, '--user', '2', '--token-env', 'TS_TOKEN'],
      { TS_TOKEN: TOKEN, NO_COLOR: undefined, FORCE_COLOR: '1' },
    );
    await vi.waitFor(
      () => expect(server.clients.some((client) => client.state === 'open')).toBe(true),
      { timeout: 10_000 },
    );
    server.pushUpdate(2, { taskId: 1, status: 'running', progress: 10, message: HOSTILE });
    server.pushUpdate(2, { taskId: 2, status: 'running', message: 'one\ntwo\rTHREE\u2028\u202e' });
    server.pushUpdate(2, { taskId: `3${ESC}[5m`, status: `run${ESC}[8mning`, message: 'ok' });
    server.pushUpdate(2, { taskId: 4, status: 'failed', error: { message: `boom${ESC}[8m` } });
    await vi.waitFor(() => expect(cli.stdout()).toContain('boom\\x1b[8m'));
    cli.child.stdin.write('\u0003');
    const result = await cli.exited;
    expect(foreign(result.stdout)).toEqual([]);
    expect(result.stdout).toContain('\\x1b]0;PWNED\\x07\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J');
    expect(result.stdout).toContain('one\\ntwo\\rTHREE\\u2028\\u202e');
    expect(result.stdout).toContain('3\\x1b[5m');
    expect(result.stdout).toContain('run\\x1b[8mning');
    expect(result.stdout).toContain('1 run\\x1b[8mning');
    expect(result.stdout).toContain(`${ESC}[32m● connected`);
    expect(result.code).toBe(130);
  });
});

describe("server text in doctor's report", () => {
  it('is printed with its control characters escaped: the /health body and the error frame', async () => {
    const server = await startWsServer((ws) => {
      ws.send(JSON.stringify({ type: 'error', code: `bad${ESC}[2J`, message: `no\n${HOSTILE}` }));
      ws.close(1008);
    });
    scripted.push(server);
    server.onRequest = (_request, response) => response.writeHead(200).end(`up ${HOSTILE}`);
    const result = await runCli(userArgs('doctor', server.baseUrl, TOKEN, '--timeout', '800'));
    expect(foreign(result.stdout)).toEqual([]);
    expect(result.stdout).not.toContain(ESC);
    expect(result.stdout).toContain('up \\x1b]0;PWNED\\x07');
    expect(result.stdout).toContain('bad\\x1b[2J');
    expect(result.code).toBe(1);
  });
});
