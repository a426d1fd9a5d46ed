/**
 * Pub/sub bus cost against fleet size: what does one idle node receive when another node makes misses,
 * and while nothing happens at all? Fleets of 2, 8 and 32 nodes that never call the cache sit subscribed
 * while one writer node makes misses at a fixed rate; every message is counted from Redis's side by a raw
 * subscriber, and Redis's own CPU time is read from `INFO cpu`.
 *
 *   npx tsx bench/bus.ts --nodes 2,8,32 --processes 4 --misses-per-second 500 --seconds 10
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { type FleetParams, type FleetResult, measureFleet } from './bus/fleet.js';
import {
  BYTES_PER_MISS_TARGET,
  chart,
  IDLE_MESSAGES_TARGET,
  notes,
  rowsTable,
  targets,
} from './bus/render.js';
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

/** Numeric flags and defaults (the suite runs the defaults); `--nodes` is a list, see `parseBusFlags`. */
export const BUS_FLAGS = {
  processes: { default: 4, help: 'processes the idle nodes are spread over (the writer has its own)' },
  'misses-per-second': { default: 500, help: 'misses the writer node makes per second' },
  seconds: { default: 10, help: 'length of the miss window in seconds' },
  'idle-seconds': { default: 5, help: 'length of the idle window (no misses) in seconds' },
  'value-bytes': { default: 1000, help: "length of each value's JSON encoding" },
} as const;

/** Fleet sizes run when `--nodes` is not given. */
export const DEFAULT_NODES: readonly number[] = [2, 8, 32];

export type BusFlags = Flags<keyof typeof BUS_FLAGS> & {
  /** Fleet sizes (idle nodes; the writer comes on top), in the order they run. */
  readonly nodes: readonly number[];
};

function parseNodes(raw: string | undefined): number[] {
  const sizes = (raw ?? '').split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) {
    throw new Error(`--nodes must be a comma-separated list of positive integers, got ${String(raw)}`);
  }
  return sizes;
}

/**
 * parseFlags (bench/lib/args.ts) for the numeric flags, plus `--nodes a,b,c`, which it cannot take (a list,
 * not a number): it is taken out of argv first and the rest goes through parseFlags unchanged.
 */
export function parseBusFlags(argv: readonly string[] = process.argv.slice(2)): BusFlags {
  const rest: string[] = [];
  let nodes = [...DEFAULT_NODES];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--nodes') {
      i += 1;
      nodes = parseNodes(argv[i]);
    } else if (arg.startsWith('--nodes=')) nodes = parseNodes(arg.slice('--nodes='.length));
    else rest.push(arg);
  }
  // parseFlags' own usage would leave out --nodes: the same lines, with it.
  if (rest.includes('--help')) {
    const lines = Object.entries(BUS_FLAGS).map(
      ([name, flag]) => `  --${name} <n>  ${flag.help} (default ${flag.default})`,
    );
    console.log(
      [
        'usage: npx tsx bench/bus.ts [flags]',
        `  --nodes <a,b>  fleet sizes in idle nodes, run in turn (default ${DEFAULT_NODES.join(',')})`,
        ...lines,
        '  --report       rewrite this scenario in bench/README.md and bench/charts',
      ].join('\n'),
    );
    process.exit(0);
  }
  return { ...parseFlags('bus', BUS_FLAGS, rest), nodes };
}

/** Runs every fleet size in turn, each with fresh processes and a prefix of its own, and builds the report. */
export async function runBus(flags: BusFlags, redisUrl: string): Promise<ScenarioReport> {
  if (flags.processes < 1) throw new Error('--processes must be at least 1');
  if (flags['misses-per-second'] <= 0 || flags.seconds <= 0 || flags['idle-seconds'] <= 0) {
    throw new Error('--misses-per-second, --seconds and --idle-seconds must be positive');
  }
  const runId = newRunId();
  const m = machine();
  const params: FleetParams = {
    processes: flags.processes,
    missesPerSecond: flags['misses-per-second'],
    seconds: flags.seconds,
    idleSeconds: flags['idle-seconds'],
    valueBytes: flags['value-bytes'],
  };
  const rows: FleetResult[] = [];
  for (const nodes of flags.nodes) {
    process.stdout.write(`bus [${nodes} nodes] ... `);
    const row = await measureFleet(nodes, params, `hcbench:${runId}:bus:n${nodes}:`, redisUrl);
    rows.push(row);
    console.log(
      `${fmt.ratio(row.messagesPerMiss, 3)} messages/miss, ${fmt.ratio(row.bytesPerMiss, 1)} B/miss, ${fmt.ratio(row.idleMessagesPerSecond, 2)} idle messages/s per node, Redis ${fmt.ratio(row.cpuMicrosPerMiss, 1)} µs/miss`,
    );
    // Let sockets close and the machine settle, so one fleet's teardown is not the next one's start.
    await sleep(500);
  }

  const sizes = flags.nodes.join(', ');
  const caption = `${machineLine(m)} · ${sizes} idle nodes, ${params.missesPerSecond} misses/s for ${params.seconds} s, ${params.valueBytes} B values`;
  const svg = chart(rows, caption);
  const image = `![Bytes per miss and idle messages per minute received by one idle node, by fleet size](${flags.report ? writeChart('bus.svg', svg) : 'charts/bus.svg'})`;
  const markdown = [
    `${machineLine(m)}. Fleets of ${sizes} idle nodes (one \`createCache({ redis, prefix })\` each, default options, spread over up to ${params.processes} processes) plus one writer node in a process of its own, which makes ${fmt.int(params.missesPerSecond)} misses/s for ${params.seconds} s: \`cached(freshKey, () => value)\`, the value's JSON ${fmt.int(params.valueBytes)} B. Counted from Redis's side by a raw subscriber on the fleet channel (what every idle node hears) and, in an idle window of ${params.idleSeconds} s before the misses, a pattern subscription on every node's heartbeat channel. Redis CPU = \`used_cpu_user + used_cpu_sys\` from \`INFO cpu\` over each window.`,
    '',
    rowsTable(rows),
    '',
    'Before this change (measured in issue 10, same machine class): every node received 1.000 messages per miss with the value inline (1 KB values arrived as 1,466 B), and N heartbeats per second per node (N² fleet-wide).',
    '',
    notes(rows, params.valueBytes),
    '',
    image,
  ].join('\n');
  console.log(`\n${rowsTable(rows)}\n`);

  const worstBytes = Math.max(...rows.map((row) => row.bytesPerMiss));
  const worstIdle = Math.max(...rows.map((row) => row.idleMessagesPerSecond));
  const anyValue = rows.some((row) => row.misses.traffic.withValue > 0);
  const verdicts: ScenarioReport['verdicts'][number][] = [
    {
      what: `bus: bytes per miss per idle node, no value inline (worst of ${sizes} nodes; ≤ ${BYTES_PER_MISS_TARGET})`,
      figure: `${fmt.ratio(worstBytes, 1)} B${anyValue ? ', value inline' : ''}`,
      verdict: verdict(rows.every((row) => targets(row).bytes.pass)),
    },
    {
      what: `bus: idle messages per second per node (worst of ${sizes} nodes; ≤ ${IDLE_MESSAGES_TARGET})`,
      figure: fmt.ratio(worstIdle, 2),
      verdict: verdict(rows.every((row) => targets(row).idle.pass)),
    },
  ];
  const records = rows.map((row) => ({ ...row, params }));
  return { id: 'bus', title: 'Bus cost against fleet size', markdown, records, verdicts };
}

async function main(): Promise<void> {
  const flags = parseBusFlags();
  const report = await withRedis((redis) => runBus(flags, redis.url));
  const file = writeRecords(report, newRunId(), machine());
  if (flags.report) writeReadmeSection(report);
  console.log(
    `JSON lines: ${file}${flags.report ? '; README and chart updated' : ' (add --report to update README)'}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
