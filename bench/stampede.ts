/**
 * The headline benchmark: a fleet of W processes x C callers on one hot key, then on 1,000 Zipf-skewed
 * keys, with a short ttl and a slow loader, for every library in turn. Counts loader calls across the
 * fleet in Redis and reports them per (key, ttl window), beside latency and staleness.
 *
 *   npx tsx bench/stampede.ts --processes 4 --callers 50 --keys 1 --duration 10 --ttl 1000 --loader-ms 100
 */
import { pathToFileURL } from 'node:url';
import { type Flags, parseFlags } from './lib/args.js';
import { withRedis } from './lib/redis.js';
import {
  fmt,
  machine,
  machineLine,
  newRunId,
  type ScenarioReport,
  verdict,
  writeChart,
  writeReadmeSection,
  writeRecords,
} from './lib/report.js';
import { PEERS, peerNamed } from './peers/index.js';
import { runRow } from './stampede/fleet.js';
import { CALLS_PER_WINDOW_TARGET, chart, notes, rowsTable, setupTable } from './stampede/render.js';
import { isHerdcache, type RunParams, type StampedeRow } from './stampede/row.js';

/** Flags and defaults (the suite runs the defaults). */
export const STAMPEDE_FLAGS = {
  processes: { default: 4, help: 'worker processes (the fleet)' },
  callers: { default: 50, help: 'concurrent callers per process' },
  keys: { default: 0, help: 'key count; 0 runs both 1 hot key and 1,000 Zipf keys' },
  zipf: { default: 1, help: 'Zipf exponent s of the key popularity' },
  duration: { default: 10, help: 'seconds per library' },
  ttl: { default: 1000, help: 'fresh time in ms' },
  'loader-ms': { default: 100, help: 'loader duration in ms' },
  'loader-jitter-ms': { default: 0, help: 'each load takes loader-ms +/- up to this, uniformly' },
} as const;

export type StampedeFlags = Flags<keyof typeof STAMPEDE_FLAGS>;

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
      loaderJitterMs: flags['loader-jitter-ms'],
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
    const image = `![${label}](${flags.report ? writeChart(file, chartSvg) : `charts/${file}`})`;
    const rowNotes = notes(rows);
    sections.push([`#### ${label}`, rowsTable(rows), ...(rowNotes ? [rowNotes] : []), image].join('\n\n'));
    console.log(`\n${rowsTable(rows)}\n`);
  }
  const markdown = [
    `${machineLine(m)}. ${flags.processes} processes x ${flags.callers} callers for ${flags.duration} s per library, ttl ${flags.ttl} ms, loader ${flags['loader-ms']} ms, against one local redis-server.`,
    '',
    sections.join('\n\n'),
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
  const flags = parseFlags(
    'stampede',
    STAMPEDE_FLAGS,
    process.argv.slice(2),
    PEERS.map((p) => p.name).join(', '),
  );
  const report = await withRedis((redis) => runStampede(flags, redis.url));
  const file = writeRecords(report, newRunId(), machine());
  if (flags.report) writeReadmeSection(report);
  console.log(
    `JSON lines: ${file}${flags.report ? '; README and charts updated' : ' (add --report to update README)'}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
