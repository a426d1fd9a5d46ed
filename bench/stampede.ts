/**
 * The headline benchmark: a fleet of W processes x C callers on one hot key, then on 1,000 Zipf-skewed
 * keys, with a short ttl and a slow loader, for every library in turn. Counts loader calls across the
 * fleet in Redis and reports them per (key, ttl window), beside latency and staleness.
 *
 *   npx tsx bench/stampede.ts --processes 4 --callers 50 --keys 1 --duration 10 --ttl 1000 --loader-ms 100
 */
import { pathToFileURL } from 'node:url';
import { type Flags, parseFlags } from './lib/args.js';
import { machine, machineLine, newRunId, type ScenarioReport } from './lib/report.js';
import { PEERS, peerNamed } from './peers/index.js';
import { runKeySets, runStampedeCli, stampedeMarkdown } from './stampede/key-sets.js';

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
  const markdown = stampedeMarkdown(
    `${machineLine(m)}. ${flags.processes} processes x ${flags.callers} callers for ${flags.duration} s per library, ttl ${flags.ttl} ms, loader ${flags['loader-ms']} ms, against one local redis-server.`,
    sections,
    peers,
  );
  return { id: 'stampede', title: 'Stampede', markdown, records, verdicts };
}

async function main(): Promise<void> {
  const flags = parseFlags(
    'stampede',
    STAMPEDE_FLAGS,
    process.argv.slice(2),
    PEERS.map((p) => p.name).join(', '),
  );
  await runStampedeCli((redisUrl) => runStampede(flags, redisUrl), flags.report);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
