import type { Colors } from '../colors.js';
import { printable } from '../terminal-text.js';
import type { CheckResult, DoctorReport, Verdict } from './types.js';

const MARKS: Readonly<Record<Verdict, (pc: Colors) => string>> = {
  pass: (pc) => pc.green('✔'),
  warn: (pc) => pc.yellow('!'),
  fail: (pc) => pc.red('✖'),
  skip: (pc) => pc.dim('-'),
};
const TITLE_WIDTH = 14;

/**
 * The first line of the human report; `proxy` is the forward proxy the sockets go through, as
 * shown (no user name or password), if any.
 */
export function formatHeader(
  url: string | null,
  userId: string,
  pc: Colors,
  proxy?: string,
): string {
  const where = printable(url ?? '(no usable URL)');
  const via = proxy === undefined ? '' : ` via ${printable(proxy)}`;
  return `${pc.bold('task-status doctor')} · user ${printable(userId)} · ${where}${via}\n\n`;
}

/**
 * One check: a verdict line, then its notes and its fix, indented. Summaries, notes and fixes
 * quote what the server sent (a `/health` body, an error frame's code and message), so each is
 * made printable: a server cannot write escape sequences or line breaks to the terminal.
 */
export function formatCheck(check: CheckResult, pc: Colors): string {
  const title = check.title.padEnd(TITLE_WIDTH);
  const time = check.verdict === 'skip' ? '' : pc.dim(` (${check.durationMs} ms)`);
  const text = printable(check.summary);
  const summary = check.verdict === 'skip' ? pc.dim(text) : text;
  const lines = [`${MARKS[check.verdict](pc)} ${title} ${summary}${time}`];
  for (const note of check.notes)
    lines.push(`  ${' '.repeat(TITLE_WIDTH)} ${pc.dim(`note: ${printable(note)}`)}`);
  if (check.fix !== null) {
    const color = check.verdict === 'fail' ? pc.red : pc.yellow;
    const cause = check.cause === null ? '' : ` [${check.cause}]`;
    lines.push(`  ${' '.repeat(TITLE_WIDTH)} ${color(`fix${cause}:`)} ${printable(check.fix)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The closing line: counts, and the first failure to look at. */
export function formatSummary(report: DoctorReport, pc: Colors): string {
  const count = (verdict: Verdict) => report.checks.filter((check) => check.verdict === verdict);
  const failed = count('fail');
  const parts = [
    `${count('pass').length} passed`,
    `${count('warn').length} warned`,
    `${failed.length} failed`,
    `${count('skip').length} skipped`,
  ];
  const first = failed[0];
  if (first === undefined) return `\n${pc.green('OK')}: ${parts.join(', ')}\n`;
  return `\n${pc.red('FAILED')}: ${parts.join(', ')}; start with ${first.id} (${first.cause})\n`;
}
