/**
 * The stampede's outer loop, shared by the stampede scenarios: each key set (1 hot key, 1,000 Zipf keys),
 * each library in turn, a table, notes and a chart per key set, herdcache's rows judged against the target.
 */
import { withRedis } from '../lib/redis.js';
import {
  fmt,
  type Machine,
  machine,
  machineLine,
  newRunId,
  type ScenarioReport,
  verdict,
  writeChart,
  writeReadmeSection,
  writeRecords,
} from '../lib/report.js';
import type { Peer, PlainRedisConnection } from '../peers/types.js';
import type { StampedeFlags } from '../stampede.js';
import { runRow } from './fleet.js';
import { CALLS_PER_WINDOW_TARGET, chart, notes, rowsTable, setupTable } from './render.js';
import { isHerdcache, type RunParams, type StampedeRow } from './row.js';

/**
 * Measures something around one row (e.g. how a cluster's masters shared its commands): called before the
 * row, and what it returns after, with the row; a string is printed under the key set's table.
 */
export type RowProbe = () => Promise<(row: StampedeRow) => Promise<string | undefined>>;

/** What a stampede scenario runs its key sets with. */
export interface KeySetsOptions {
  /** Prefix of progress lines and chart files (`<scenario>-1-key.svg`). */
  readonly scenario: string;
  readonly flags: StampedeFlags;
  readonly peers: readonly Peer[];
  /** The standalone Redis: loader-call counters, and the caches unless `cacheRedis` is given. */
  readonly redisUrl: string;
  /** Where herdcache's rows keep their entries instead (see PeerConfig.cacheRedis). */
  readonly cacheRedis?: PlainRedisConnection;
  /** Appended to each key set's label in the verdicts, e.g. `, Redis Cluster`. */
  readonly verdictSuffix?: string;
  readonly probe?: RowProbe;
  readonly runId: string;
  readonly machine: Machine;
}

/** What the key sets produced, for the scenario's report. */
export interface KeySetsResult {
  /** One markdown section per key set: heading, table, notes, chart. */
  readonly sections: readonly string[];
  readonly records: readonly Record<string, unknown>[];
  readonly verdicts: readonly ScenarioReport['verdicts'][number][];
}

/** Runs every peer on each key set the flags select (`--keys 0`: 1 hot key, then 1,000 Zipf keys). */
export async function runKeySets(options: KeySetsOptions): Promise<KeySetsResult> {
  const { flags, peers } = options;
  const keySets = flags.keys > 0 ? [flags.keys] : [1, 1000];
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
      loaderJitterMs: flags['loader-jitter-ms'],
    };
    const label = keys === 1 ? '1 hot key' : `${keys.toLocaleString('en-US')} keys, Zipf s=${flags.zipf}`;
    const rows: StampedeRow[] = [];
    const probeNotes: string[] = [];
    for (const peer of peers) {
      process.stdout.write(`${options.scenario} [${label}] ${peer.name} ... `);
      const finish = await options.probe?.();
      const row = await runRow(peer, params, options.redisUrl, options.runId, options.cacheRedis);
      const probeNote = await finish?.(row);
      if (probeNote) probeNotes.push(probeNote);
      rows.push(row);
      console.log(
        row.failure
          ? `FAILED: ${row.failure}`
          : `${fmt.ratio(row.callsPerKeyWindow, 3)} calls/key/window, ${fmt.int(row.getsPerSecond)} gets/s, p99 ${fmt.ms(row.p99)}, ${row.errors} errors`,
      );
      records.push({ keys, label, params, ...row, ...(probeNote ? { probeNote } : {}) });
      if (isHerdcache(row.library) && !row.failure) {
        verdicts.push({
          what: `${row.library}, ${label}${options.verdictSuffix ?? ''}: loader calls per key per window`,
          figure: fmt.ratio(row.callsPerKeyWindow, 3),
          verdict: verdict(row.callsPerKeyWindow <= CALLS_PER_WINDOW_TARGET),
        });
      }
      // Let the machine settle between rows (sockets closing, GC) so one row's tail is not the next one's.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const file = `${options.scenario}-${keys === 1 ? '1-key' : `${keys}-keys`}.svg`;
    const caption = `${machineLine(options.machine)} · ${params.processes} processes x ${params.callers} callers, ${flags.duration} s, ttl ${params.ttl} ms, loader ${params.loaderMs} ms`;
    const chartSvg = chart(rows, label, caption);
    const image = `![${label}](${flags.report ? writeChart(file, chartSvg) : `charts/${file}`})`;
    const rowNotes = [notes(rows), ...probeNotes].filter((text) => text !== '').join('\n');
    sections.push([`#### ${label}`, rowsTable(rows), ...(rowNotes ? [rowNotes] : []), image].join('\n\n'));
    console.log(`\n${rowsTable(rows)}\n`);
  }
  return { sections, records, verdicts };
}

/** A stampede scenario's README section: its setup line, the key-set sections, and how each row is set up. */
export function stampedeMarkdown(
  setupLine: string,
  sections: readonly string[],
  peers: readonly Peer[],
): string {
  return [
    setupLine,
    '',
    sections.join('\n\n'),
    '',
    '<details><summary>How each row is set up</summary>',
    '',
    setupTable(peers),
    '',
    '</details>',
  ].join('\n');
}

/** The command line of a stampede scenario: run it against a Redis of our own, write records and README. */
export async function runStampedeCli(
  run: (redisUrl: string) => Promise<ScenarioReport>,
  report: boolean,
): Promise<void> {
  const result = await withRedis((redis) => run(redis.url));
  const file = writeRecords(result, newRunId(), machine());
  if (report) writeReadmeSection(result);
  console.log(
    `JSON lines: ${file}${report ? '; README and charts updated' : ' (add --report to update README)'}`,
  );
}
