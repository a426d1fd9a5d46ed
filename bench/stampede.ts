/**
 * The headline benchmark: a fleet of W processes x C callers on one hot key, then on 1,000 Zipf-skewed
 * keys, with a short ttl and a slow loader, for every library in turn. Counts loader calls across the
 * fleet in Redis and reports them per (key, ttl window), beside latency and staleness.
 *
 *   npx tsx bench/stampede.ts --processes 4 --callers 50 --keys 1 --duration 10 --ttl 1000 --loader-ms 100
 */
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { type Flags, parseFlags } from './lib/args.js';
import { withRedis } from './lib/redis.js';
import {
  fmt,
  installedVersion,
  machine,
  machineLine,
  newRunId,
  type ScenarioReport,
  table,
  verdict,
  writeChart,
  writeReadmeSection,
  writeRecords,
} from './lib/report.js';
import { Histogram } from './lib/stats.js';
import { groupedBarChart, lineChart, PALETTE, svgDocument } from './lib/svg.js';
import { startWorkers, stopAll } from './lib/workers.js';
import { PEERS, peerNamed } from './peers/index.js';
import type { Peer } from './peers/types.js';
import type {
  FromStampedeWorker,
  StampedeWorkerResult,
  ToStampedeWorker,
} from './workers/stampede-protocol.js';

/** Flags and defaults (the suite runs the defaults). */
export const STAMPEDE_FLAGS = {
  processes: { default: 4, help: 'worker processes (the fleet)' },
  callers: { default: 50, help: 'concurrent callers per process' },
  keys: { default: 0, help: 'key count; 0 runs both 1 hot key and 1,000 Zipf keys' },
  zipf: { default: 1, help: 'Zipf exponent s of the key popularity' },
  duration: { default: 10, help: 'seconds per library' },
  ttl: { default: 1000, help: 'fresh time in ms' },
  'loader-ms': { default: 100, help: 'loader duration in ms' },
} as const;

export type StampedeFlags = Flags<keyof typeof STAMPEDE_FLAGS>;

/** Ideal is 1 (or just under: a value is reloaded every ttl + load time). */
export const CALLS_PER_WINDOW_TARGET = 1.05;
const WORKER = new URL('./workers/stampede-worker.ts', import.meta.url);
// One bin per second: the chart reads as loader calls per second.
const BIN_MS = 1000;

/** One library's row. */
export interface StampedeRow {
  readonly library: string;
  /** Why the row has no numbers, when it has none. */
  readonly failure?: string;
  readonly loaderCalls: number;
  readonly loaderCallsAll: number;
  readonly pairs: number;
  readonly callsPerKeyWindow: number;
  readonly maxInOneWindow: number;
  readonly overlapping: number;
  readonly getsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly ok: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly staleShare: number;
  readonly oldestMs: number;
  readonly counterErrors: number;
  /** Loader calls per second, per BIN_MS bin from the start. */
  readonly loadRate: readonly number[];
  readonly libraryStats: readonly Readonly<Record<string, number>>[];
}

interface RunParams {
  readonly processes: number;
  readonly callers: number;
  readonly keys: number;
  readonly zipfS: number;
  readonly durationMs: number;
  readonly ttl: number;
  readonly loaderMs: number;
}

function failedRow(library: string, failure: string): StampedeRow {
  return {
    library,
    failure,
    loaderCalls: Number.NaN,
    loaderCallsAll: Number.NaN,
    pairs: Number.NaN,
    callsPerKeyWindow: Number.NaN,
    maxInOneWindow: Number.NaN,
    overlapping: Number.NaN,
    getsPerSecond: Number.NaN,
    p50: Number.NaN,
    p99: Number.NaN,
    p999: Number.NaN,
    max: Number.NaN,
    ok: 0,
    errors: 0,
    errorSamples: [],
    staleShare: Number.NaN,
    oldestMs: Number.NaN,
    counterErrors: 0,
    loadRate: [],
    libraryStats: [],
  };
}

/** Loads of a key that started while another load of the same key was still running, fleet-wide. */
function overlappingLoads(results: readonly StampedeWorkerResult[]): number {
  const byKey = new Map<number, [number, number][]>();
  for (const result of results) {
    for (let i = 0; i < result.loads.length; i += 3) {
      const key = result.loads[i]!;
      const list = byKey.get(key) ?? [];
      list.push([result.loads[i + 1]!, result.loads[i + 2]!]);
      byKey.set(key, list);
    }
  }
  let overlapping = 0;
  for (const list of byKey.values()) {
    list.sort((a, b) => a[0] - b[0]);
    let runningUntil = Number.NEGATIVE_INFINITY;
    for (const [start, end] of list) {
      if (start < runningUntil) overlapping += 1;
      runningUntil = Math.max(runningUntil, end);
    }
  }
  return overlapping;
}

function loadRate(results: readonly StampedeWorkerResult[], durationMs: number): number[] {
  const bins = new Array<number>(Math.ceil(durationMs / BIN_MS)).fill(0);
  for (const result of results) {
    for (let i = 0; i < result.loads.length; i += 3) {
      const bin = Math.floor(result.loads[i + 1]! / BIN_MS);
      if (bin >= 0 && bin < bins.length) bins[bin]! += 1000 / BIN_MS;
    }
  }
  return bins;
}

async function runRow(peer: Peer, params: RunParams, redisUrl: string, runId: string): Promise<StampedeRow> {
  const slug = peer.name.replace(/[^a-z0-9]+/gi, '-');
  const namespace = `hcbench:${runId}:${slug}:${params.keys}`;
  const counterKey = `${namespace}:loader-calls`;
  const windowsKey = `${namespace}:loader-calls-by-window`;
  const workers = startWorkers<ToStampedeWorker, FromStampedeWorker>(WORKER, params.processes, peer.name);
  try {
    for (const [index, worker] of workers.entries()) {
      worker.send({
        type: 'init',
        peer: peer.name,
        index,
        redisUrl,
        namespace,
        ttl: params.ttl,
        keys: params.keys,
        zipfS: params.zipfS,
        callers: params.callers,
        durationMs: params.durationMs,
        loaderMs: params.loaderMs,
        counterKey,
        windowsKey,
      });
    }
    const ready = await Promise.all(
      workers.map((worker) => worker.receive(['ready', 'failed'], 60_000)),
    ).catch((error: Error) => [
      { type: 'failed' as const, reason: `not ready within 60 s (${error.message})` },
    ]);
    const failed = ready.find((message) => message.type === 'failed');
    if (failed?.type === 'failed') return failedRow(peer.name, `could not start: ${failed.reason}`);

    // Everyone starts at the same instant, a little ahead so the message reaches every worker first.
    const at = Date.now() + 250;
    for (const worker of workers) worker.send({ type: 'start', at });
    const results = await Promise.all(
      workers.map((worker) => worker.receive('result', params.durationMs + 60_000)),
    );
    await stopAll(workers);
    return await summarize(peer.name, results, params, redisUrl, counterKey, windowsKey);
  } catch (error) {
    return failedRow(peer.name, (error as Error).message);
  } finally {
    await stopAll(workers, 1_000);
  }
}

async function summarize(
  library: string,
  results: readonly StampedeWorkerResult[],
  params: RunParams,
  redisUrl: string,
  counterKey: string,
  windowsKey: string,
): Promise<StampedeRow> {
  const windows = Math.max(1, Math.ceil(params.durationMs / params.ttl));
  const redis = new Redis(redisUrl);
  let loaderCallsAll: number;
  let byWindow: Record<string, string>;
  try {
    loaderCallsAll = Number((await redis.get(counterKey)) ?? 0);
    byWindow = await redis.hgetall(windowsKey);
    await redis.del(counterKey, windowsKey);
  } finally {
    redis.disconnect();
  }
  let loaderCalls = 0;
  let maxInOneWindow = 0;
  for (const [field, value] of Object.entries(byWindow)) {
    const window = Number(field.split('|')[1]);
    // Calls started after the measured span (background refreshes at the very end) are not counted.
    if (window < 0 || window >= windows) continue;
    loaderCalls += Number(value);
    maxInOneWindow = Math.max(maxInOneWindow, Number(value));
  }
  const pairs = new Set(results.flatMap((r) => r.requested)).size;
  const latency = Histogram.from(results.map((r) => r.latency));
  const ok = results.reduce((sum, r) => sum + r.ok, 0);
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  const stale = results.reduce((sum, r) => sum + r.stale, 0);
  return {
    library,
    loaderCalls,
    loaderCallsAll,
    pairs,
    callsPerKeyWindow: pairs === 0 ? Number.NaN : loaderCalls / pairs,
    maxInOneWindow,
    overlapping: overlappingLoads(results),
    getsPerSecond: ok / (params.durationMs / 1000),
    p50: latency.percentile(0.5) / 1e6,
    p99: latency.percentile(0.99) / 1e6,
    p999: latency.percentile(0.999) / 1e6,
    max: latency.max / 1e6,
    ok,
    errors,
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))].slice(0, 3),
    staleShare: ok === 0 ? 0 : stale / ok,
    oldestMs: Math.max(0, ...results.map((r) => r.oldestMs)),
    counterErrors: results.reduce((sum, r) => sum + r.counterErrors, 0),
    loadRate: loadRate(results, params.durationMs),
    libraryStats: results.flatMap((r) => (r.libraryStats ? [r.libraryStats] : [])),
  };
}

function isHerdcache(library: string): boolean {
  return library.startsWith('herdcache');
}

function rowsTable(rows: readonly StampedeRow[]): string {
  const headers = [
    'library',
    'loader calls',
    'calls / key / window',
    `target ≤ ${CALLS_PER_WINDOW_TARGET}`,
    'max in 1 window',
    'overlapping',
    'gets/s',
    'p50',
    'p99',
    'p999',
    'max',
    'errors',
    '> ttl old',
    'oldest',
  ];
  const body = rows.map((row) => {
    if (row.failure) return [row.library, ...headers.slice(1).map(() => '–')];
    return [
      row.library,
      fmt.int(row.loaderCalls),
      fmt.ratio(row.callsPerKeyWindow, 3),
      verdict(row.callsPerKeyWindow <= CALLS_PER_WINDOW_TARGET).text,
      fmt.int(row.maxInOneWindow),
      fmt.int(row.overlapping),
      fmt.int(row.getsPerSecond),
      fmt.ms(row.p50),
      fmt.ms(row.p99),
      fmt.ms(row.p999),
      fmt.ms(row.max),
      fmt.int(row.errors),
      fmt.pct(row.staleShare, 2),
      fmt.ms(row.oldestMs),
    ];
  });
  return table(headers, body);
}

function notes(rows: readonly StampedeRow[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    if (row.failure) lines.push(`- **${row.library}**: no numbers: ${row.failure}`);
    else if (row.errors > 0)
      lines.push(`- **${row.library}** errors, e.g.: ${row.errorSamples.map((s) => `\`${s}\``).join('; ')}`);
    if (row.counterErrors > 0)
      lines.push(`- **${row.library}**: ${row.counterErrors} loader-call counts failed to reach Redis`);
  }
  return lines.join('\n');
}

function chart(rows: readonly StampedeRow[], label: string, caption: string): string {
  const live = rows.filter((row) => !row.failure);
  const colors = new Map(rows.map((row, i) => [row.library, PALETTE[i % PALETTE.length]!]));
  const loads = lineChart({
    title: `Loader calls per second across the fleet: ${label}`,
    xLabel: 'seconds since start (1 s bins; lines with equal values drawn 2 px apart)',
    yLabel: 'loader calls / s (log)',
    series: live.map((row) => ({
      name: row.library,
      color: colors.get(row.library)!,
      emphasis: isHerdcache(row.library),
      points: row.loadRate.map((rate, bin) => [(bin * BIN_MS) / 1000, rate] as const),
    })),
    step: BIN_MS / 1000,
  });
  const latency = groupedBarChart({
    title: `Get latency per library: ${label}`,
    yLabel: 'milliseconds (log)',
    groups: live.map((row) => row.library),
    bars: [
      { name: 'p50', color: '#9ecae1' },
      { name: 'p99', color: '#4292c6' },
      { name: 'p999', color: '#08519c' },
      { name: 'max', color: '#08306b' },
    ],
    values: live.map((row) => [row.p50, row.p99, row.p999, row.max]),
  });
  return svgDocument(
    `Stampede benchmark, ${label}: loader calls per second and get latency per library`,
    [loads, latency],
    caption,
  );
}

function setupTable(peers: readonly Peer[]): string {
  return table(
    ['library', 'packages', 'set up as'],
    peers.map((peer) => [
      peer.name,
      peer.packages.map((name) => `${name} ${installedVersion(name, peer.installedIn)}`).join(', ') || '–',
      `\`${peer.setup}\``,
    ]),
  );
}

/** Runs every selected library on each key set and builds the report. */
export async function runStampede(flags: StampedeFlags, redisUrl: string): Promise<ScenarioReport> {
  const runId = newRunId();
  const peers = flags.only ? flags.only.map(peerNamed) : PEERS;
  const keySets = flags.keys > 0 ? [flags.keys] : [1, 1000];
  const m = machine();
  const sections: string[] = [];
  const records: Record<string, unknown>[] = [];
  const verdicts: ScenarioReport['verdicts'][number][] = [];
  for (const keys of keySets) {
    const params: RunParams = {
      processes: flags.processes,
      callers: flags.callers,
      keys,
      zipfS: flags.zipf,
      durationMs: flags.duration * 1000,
      ttl: flags.ttl,
      loaderMs: flags['loader-ms'],
    };
    const label = keys === 1 ? '1 hot key' : `${keys.toLocaleString('en-US')} keys, Zipf s=${flags.zipf}`;
    const rows: StampedeRow[] = [];
    for (const peer of peers) {
      process.stdout.write(`stampede [${label}] ${peer.name} ... `);
      const row = await runRow(peer, params, redisUrl, runId);
      rows.push(row);
      console.log(
        row.failure
          ? `FAILED: ${row.failure}`
          : `${fmt.ratio(row.callsPerKeyWindow, 3)} calls/key/window, ${fmt.int(row.getsPerSecond)} gets/s, p99 ${fmt.ms(row.p99)}, ${row.errors} errors`,
      );
      records.push({ keys, label, params, ...row });
      if (isHerdcache(row.library) && !row.failure) {
        verdicts.push({
          what: `${row.library}, ${label}: loader calls per key per window`,
          figure: fmt.ratio(row.callsPerKeyWindow, 3),
          verdict: verdict(row.callsPerKeyWindow <= CALLS_PER_WINDOW_TARGET),
        });
      }
      // Let the machine settle between rows (sockets closing, GC) so one row's tail is not the next one's.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const file = `stampede-${keys === 1 ? '1-key' : `${keys}-keys`}.svg`;
    const caption = `${machineLine(m)} · ${params.processes} processes x ${params.callers} callers, ${flags.duration} s, ttl ${params.ttl} ms, loader ${params.loaderMs} ms`;
    const chartSvg = chart(rows, label, caption);
    sections.push(
      [
        `#### ${label}`,
        '',
        rowsTable(rows),
        '',
        notes(rows),
        '',
        `![${label}](${flags.report ? writeChart(file, chartSvg) : `charts/${file}`})`,
      ].join('\n'),
    );
    console.log(`\n${rowsTable(rows)}\n`);
  }
  const markdown = [
    `${machineLine(m)}. ${flags.processes} processes x ${flags.callers} callers for ${flags.duration} s per library, ttl ${flags.ttl} ms, loader ${flags['loader-ms']} ms, against one local redis-server.`,
    '',
    ...sections,
    '',
    '<details><summary>How each library is set up</summary>',
    '',
    setupTable(peers),
    '',
    '</details>',
  ].join('\n');
  return { id: 'stampede', title: 'Stampede', markdown, records, verdicts };
}

async function main(): Promise<void> {
  const flags = parseFlags('stampede', STAMPEDE_FLAGS);
  const report = await withRedis((redis) => runStampede(flags, redis.url));
  const file = writeRecords(report, newRunId(), machine());
  if (flags.report) writeReadmeSection(report);
  console.log(
    `JSON lines: ${file}${flags.report ? '; README and charts updated' : ' (add --report to update README)'}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
