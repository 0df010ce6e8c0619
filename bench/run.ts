/**
 * `npm run bench`: every benchmark of docs/performance.md, then one table of budgets, measured
 * values and verdicts. Timing budgets are reported, not asserted: the exit code is 0 whatever
 * the verdicts, and 1 only if a benchmark itself broke.
 *
 * Flags: `--only=size,frame-path,throughput,idle,storm` (default: all), `--rounds=N` (paired
 * throughput rounds, default 9), `--no-pin` (leave the throughput processes to the scheduler),
 * `--json` (also print the raw results as JSON).
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { GZIP_BUDGET_BYTES, measureAll } from '../scripts/size.mjs';
import { type IdleResult, runIdle, runStorm, type StormResult } from './fleet/index.js';
import { type ModelResult, modelStorm } from './fleet/model.js';
import { FRAME_PATH_DEFAULTS, type FramePathResult, runFramePath } from './frame-path.js';
import { ROOT } from './lib/child.js';
import { runThroughput, THROUGHPUT_DEFAULTS, type ThroughputResult } from './throughput/index.js';

const SECTIONS = ['size', 'frame-path', 'throughput', 'idle', 'storm'] as const;
type Section = (typeof SECTIONS)[number];

const flag = (name: string) =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = flag('only')?.split(',') ?? [...SECTIONS];
const unknown = only.filter((name) => !(SECTIONS as readonly string[]).includes(name));
if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(', ')}`);
const wanted = (section: Section) => only.includes(section);
const rounds = Number(flag('rounds') ?? THROUGHPUT_DEFAULTS.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
// `--no-pin` lets the scheduler place the throughput processes, as before pinning was the default.
const pinned = !process.argv.includes('--no-pin');

// Whatever happens, this process and its children (which exit when it does) stop in 15 minutes.
setTimeout(() => {
  console.error('bench: 15-minute limit reached, stopping');
  process.exit(1);
}, 15 * 60_000).unref();

const log = (line: string) => console.log(line);

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

const cpu = cpus();
const commit = git('rev-parse', '--short', 'HEAD');
const dirty =
  git('status', '--porcelain', '--', 'src') === '' ? '' : ' + uncommitted changes in src/';
const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
console.log(
  `Node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? '?'}), ${process.platform}/${process.arch}`,
);
console.log(`commit ${commit}${dirty}; load average at start: ${load()}\n`);

interface Row {
  readonly what: string;
  readonly budget: string;
  readonly measured: string;
  readonly pass: boolean | undefined;
}
const rows: Row[] = [];
const results: Record<string, unknown> = {};
let broken = false;

async function section<T>(
  name: Section,
  title: string,
  run: () => Promise<T>,
): Promise<T | undefined> {
  if (!wanted(name)) return undefined;
  console.log(`== ${title}`);
  const started = performance.now();
  try {
    const result = await run();
    results[name] = result;
    console.log(`   (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
    return result;
  } catch (error) {
    broken = true;
    console.error(`   ${title} broke: ${(error as Error).stack ?? String(error)}\n`);
    rows.push({ what: title, budget: '-', measured: 'ERROR (see above)', pass: false });
    return undefined;
  }
}

const x = (n: number) => `${n.toFixed(2)}x`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
const ms = (n: number) => (Number.isNaN(n) ? 'never' : `${(n / 1000).toFixed(2)} s`);

// ---- Bundle size -------------------------------------------------------------------------------
const sizes = await section('size', 'Browser bundle (scripts/size.mjs)', async () => {
  const reports = await measureAll();
  for (const report of reports) {
    log(
      `  ${report.label}: min ${report.minified} B, gzip ${report.gzip} B, br ${report.brotli} B` +
        `${report.problems.length > 0 ? `; FORBIDDEN: ${report.problems.join('; ')}` : ''}` +
        `${report.note ? ` (${report.note})` : ''}`,
    );
  }
  return reports;
});
const source = sizes?.[0];
if (source !== undefined) {
  rows.push({
    what: 'browser bundle, root entry, min+gzip -9',
    budget: `<= ${kib(GZIP_BUDGET_BYTES)}`,
    measured: `${kib(source.gzip)} (${source.gzip} B; br ${source.brotli} B)${source.problems.length > 0 ? ' + forbidden modules' : ''}`,
    pass: source.gzip <= GZIP_BUDGET_BYTES && source.problems.length === 0,
  });
}

// ---- Per-frame path, in process (diagnostic) ---------------------------------------------------
await section(
  'frame-path',
  `Per-frame path in one process (diagnostic; ${FRAME_PATH_DEFAULTS.rounds} rounds x ${FRAME_PATH_DEFAULTS.frames} frames, CPU time)`,
  async () => {
    const result = await runFramePath(FRAME_PATH_DEFAULTS);
    printFramePath(result);
    return result;
  },
);

function printFramePath(result: FramePathResult): void {
  const base = result['JSON.parse'];
  for (const [stage, ns] of Object.entries(result)) {
    log(
      `  ${stage.padEnd(26)} ${ns.toFixed(0).padStart(6)} ns/frame  ${(ns / base).toFixed(2)}x JSON.parse`,
    );
  }
}

// ---- Throughput over a socket ------------------------------------------------------------------
await section(
  'throughput',
  `Throughput over a socket (${rounds} paired rounds + ${THROUGHPUT_DEFAULTS.warmupRounds} warm-up, ${THROUGHPUT_DEFAULTS.frames} frames of 157 B each)`,
  async () => {
    const result = await runThroughput({ ...THROUGHPUT_DEFAULTS, rounds, pinned }, log);
    throughputRows(result);
    return result;
  },
);

function throughputRows(result: ThroughputResult): void {
  const k = (n: number) => `${Math.round(n / 1000)}k/s`;
  log(
    `  raw ws + JSON.parse: median ${k(result.rate.raw.wall.median)} (${k(result.rate.raw.wall.min)}–${k(result.rate.raw.wall.max)}); ` +
      `per CPU-second ${k(result.rate.raw.cpu.median)}`,
  );
  const describe = (mode: Exclude<keyof ThroughputResult['rate'], 'raw'>) => {
    const { wall, cpu } = result.ratio[mode];
    return `${x(wall.median)} (${x(wall.min)}–${x(wall.max)}); CPU-time ratio ${x(cpu.median)} (${x(cpu.min)}–${x(cpu.max)})`;
  };
  log(`  ws onmessage (MessageEvent) + JSON.parse vs raw: ${describe('raw-event')}`);
  log(
    `  client + zod schema of the whole update (taskUpdateSchema.extend) vs raw: ${describe('sdk-zod-update')}`,
  );
  rows.push({
    what: `frames/s, client vs raw ws + JSON.parse (median of ${result.rounds}${result.pinned ? ', pinned' : ''})`,
    budget: '>= 0.90x',
    measured: describe('sdk'),
    pass: result.ratio.sdk.wall.median >= 0.9,
  });
  rows.push({
    what: 'same, with a zod schema for the task payload (withResult)',
    budget: '>= 0.70x',
    measured: describe('sdk-zod'),
    pass: result.ratio['sdk-zod'].wall.median >= 0.7,
  });
}

// ---- Idle heap and timers ----------------------------------------------------------------------
const idle = await section(
  'idle',
  'Idle connected clients: heap and timers (1,000 per process)',
  () => runIdle(undefined, log),
);
if (idle !== undefined) idleRows(idle);

function idleRows(result: IdleResult[]): void {
  const by = (label: string) => result.find((r) => r.label === label);
  const raw = by('raw ws');
  const tsx = by('SDK (src via tsx)');
  const compiled = by('SDK (compiled)');
  if (compiled === undefined) return;
  rows.push({
    what: 'heap per idle connected client (compiled SDK; 1,000 clients)',
    budget: '<= 5.00 KiB',
    measured:
      `${kib(compiled.heapPerClient)} (through tsx: ${tsx ? kib(tsx.heapPerClient) : '?'}; ` +
      `raw ws: ${raw ? kib(raw.heapPerClient) : '?'})`,
    pass: compiled.heapPerClient <= 5 * 1024,
  });
  rows.push({
    what: 'live timers per idle connected client',
    budget: 'exactly 1',
    measured: `${compiled.timersPerClient.toFixed(3)} (through tsx: ${tsx?.timersPerClient.toFixed(3) ?? '?'})`,
    pass: compiled.timersPerClient === 1 && (tsx === undefined || tsx.timersPerClient === 1),
  });
}

// ---- Reconnect storms --------------------------------------------------------------------------
// Four client processes of 250 clients: one process timing 1,000 reconnects fires its timers in
// bursts on a busy 2-core machine, which a real fleet of separate browsers would not.
const STORM = { clients: 1_000, settleMs: 20_000, processes: 4 };
const storms = await section(
  'storm',
  `Reconnect storm: ${STORM.clients} clients, default settings (${STORM.processes} client processes)`,
  async () => {
    const model = { atOnce: modelStorm(STORM.clients, 0), down: modelStorm(STORM.clients, 3_000) };
    for (const m of [model.atOnce, model.down]) {
      log(
        `  policy model, down ${m.downtimeMs} ms (no close latency, no scheduling delay; median of ${m.runs} seeds): ` +
          `max ${m.maxPer100ms} per 100 ms, 99% back at ${ms(m.p99Ms)}`,
      );
    }
    log(`  load average before the runs: ${load()}`);
    const atOnce = await runStorm({ ...STORM, downtimeMs: 0 }, log);
    const down = await runStorm({ ...STORM, downtimeMs: 3_000 }, log);
    return { atOnce, down, model };
  },
);
if (storms !== undefined) {
  stormRows('restart at once', storms.atOnce, storms.model.atOnce, 160, 1_500);
  stormRows('down 3 s', storms.down, storms.model.down, 60, 10_000);
}

function stormRows(
  label: string,
  result: StormResult,
  model: ModelResult,
  maxPer100ms: number,
  p99Ms: number,
): void {
  rows.push({
    what: `storm (${label}): most upgrades in any 100 ms`,
    budget: `<= ${maxPer100ms}`,
    measured: `${result.maxPer100ms} (clients opened ${result.socketsMaxPer100ms}, refused included; policy model ${model.maxPer100ms})`,
    pass: result.maxPer100ms <= maxPer100ms,
  });
  rows.push({
    what: `storm (${label}): time until 99% are back`,
    budget: `<= ${ms(p99Ms)}`,
    measured: `${ms(result.backMs.p99)} (50%: ${ms(result.backMs.p50)}; ${result.back}/${result.clients} back; 99% closed at ${ms(result.closedMs.p99)}; policy model ${ms(model.p99Ms)})`,
    pass: result.backMs.p99 <= p99Ms,
  });
}

// ---- Summary -----------------------------------------------------------------------------------
console.log(
  `== Budgets (Node ${process.version}, ${cpu.length} cores; load average at end: ${load()})\n`,
);
const header = ['what', 'budget', 'measured', 'verdict'];
const table = rows.map((row) => [
  row.what,
  row.budget,
  row.measured,
  row.pass === undefined ? '-' : row.pass ? 'PASS' : 'FAIL',
]);
const widths = header.map((h, i) =>
  Math.max(h.length, ...table.map((cells) => (cells[i] ?? '').length)),
);
const line = (cells: string[]) =>
  `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const cells of table) console.log(line(cells));
if (wanted('throughput')) {
  console.log(
    '\nThroughput verdicts use the wall-clock ratio; the CPU-time ratio beside it is steadier on a busy machine.',
  );
}
if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
process.exitCode = broken ? 1 : 0;
