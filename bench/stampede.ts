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
  machine,
  machineLine,
  newRunId,
  type ScenarioReport,
  writeReadmeSection,
  writeRecords,
} from './lib/report.js';
import { PEERS, peerNamed } from './peers/index.js';
import { runKeySets } from './stampede/key-sets.js';
import { setupTable } from './stampede/render.js';

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
  const peers = flags.only ? flags.only.map(peerNamed) : PEERS;
  const m = machine();
  const { sections, records, verdicts } = await runKeySets({
    scenario: 'stampede',
    flags,
    peers,
    redisUrl,
    runId: newRunId(),
    machine: m,
  });
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
