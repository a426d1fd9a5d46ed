/** The bus benchmark's table, notes and chart. */
import { fmt, table, type Verdict, verdict } from '../lib/report.js';
import { groupedBarChart, PALETTE, svgDocument } from '../lib/svg.js';
import type { FleetResult } from './fleet.js';

/** Targets: what one idle node may receive per miss, and per second while the fleet is idle. */
export const BYTES_PER_MISS_TARGET = 200;
export const IDLE_MESSAGES_TARGET = 2;

/** The earlier design's figures (issue 10), quoted: a 1 KB value arrived inline as this many bytes. */
const BEFORE_BYTES_PER_MISS = 1466;

/** Both targets for one fleet size. */
export function targets(row: FleetResult): { bytes: Verdict; idle: Verdict } {
  return {
    bytes: verdict(row.bytesPerMiss <= BYTES_PER_MISS_TARGET && row.misses.traffic.withValue === 0),
    idle: verdict(row.idleMessagesPerSecond <= IDLE_MESSAGES_TARGET),
  };
}

export function rowsTable(rows: readonly FleetResult[]): string {
  return table(
    [
      'nodes',
      'misses',
      'messages / miss per idle node',
      'bytes / miss per idle node',
      'value payloads',
      'idle messages / s per node',
      'Redis CPU µs / miss',
      'Redis idle CPU ms / s',
      `target ≤ ${BYTES_PER_MISS_TARGET} B / miss, no value`,
      `target ≤ ${IDLE_MESSAGES_TARGET} idle messages / s`,
    ],
    rows.map((row) => {
      const verdicts = targets(row);
      const payloads = row.misses.traffic.withValue;
      return [
        fmt.int(row.nodes),
        fmt.int(row.misses.calls),
        fmt.ratio(row.messagesPerMiss, 3),
        fmt.ratio(row.bytesPerMiss, 1),
        payloads === 0 ? 'no' : `yes (${fmt.int(payloads)})`,
        fmt.ratio(row.idleMessagesPerSecond, 2),
        fmt.ratio(row.cpuMicrosPerMiss, 1),
        fmt.ratio(row.idleCpuMsPerSecond, 2),
        verdicts.bytes.text,
        verdicts.idle.text,
      ];
    }),
  );
}

/** What Redis itself says about the subscriptions, and anything that went wrong. */
export function notes(rows: readonly FleetResult[], valueBytes: number): string {
  const subscribed = rows.every((row) => row.fleetSubscribers === row.nodes + 2);
  const ownBeats = rows.every((row) => row.beatChannels === row.nodes + 1 && row.maxBeatSubscribers === 1);
  const idleFleet = rows.reduce((sum, row) => sum + row.idle.fleetMessages, 0);
  const largestRow = rows.reduce((a, b) =>
    (b.misses.traffic.largest?.bytes ?? -1) > (a.misses.traffic.largest?.bytes ?? -1) ? b : a,
  );
  const largest = largestRow.misses.traffic.largest;
  const errors = rows.reduce((sum, row) => sum + row.errorEvents + row.misses.errors, 0);
  const unloaded = rows.reduce((sum, row) => sum + Math.abs(row.misses.calls - row.misses.loads), 0);
  const last = rows[rows.length - 1]!;
  const lines = [
    `Checked in Redis once each fleet was up: the fleet channel had ${subscribed ? 'exactly' : 'NOT always'} nodes + 2 subscribers (the idle nodes, the writer, this listener; \`PUBSUB NUMSUB\`), and ${ownBeats ? 'each of the nodes + 1 heartbeat channels had exactly 1 subscriber' : 'the heartbeat channels did NOT each have exactly 1 subscriber'}, so a node hears only its own beats. Idle windows carried ${fmt.int(idleFleet)} fleet-channel messages in all; the idle rate per node is ${rows.map((row) => `${fmt.ratio(row.beatsPerNodePerSecond, 2)}`).join(' / ')} beats/s (own beats only, at ${rows.map((row) => row.nodes).join(' / ')} nodes).`,
    largest === undefined
      ? 'No message arrived on the fleet channel during the miss windows.'
      : `Largest fleet-channel message: ${fmt.int(largest.bytes)} B with its channel (a value payload would be over ${fmt.int(valueBytes / 2)} B): \`${largest.sample}\`. The channel's name, \`${largestRow.channel}\`, is ${fmt.int(Buffer.byteLength(largestRow.channel))} B of that; with the default prefix (\`herdcache:bus\`) it is 13 B.`,
    `Redis commands per miss (scripts' inner calls included, \`INFO commandstats\`; the heartbeats of the window too) at ${last.nodes} nodes: ${
      Object.entries(last.misses.commandsPerMiss)
        .sort((a, b) => b[1] - a[1])
        .map(([name, perMiss]) => `${name} ${fmt.ratio(perMiss, 2)}`)
        .join(', ') || 'none'
    }.`,
    ...(rows.length > 1 && last.nodes !== rows[0]!.nodes
      ? [
          `Redis CPU per miss at ${last.nodes} nodes minus at ${rows[0]!.nodes}, per extra subscriber: ${fmt.ratio((last.cpuMicrosPerMiss - rows[0]!.cpuMicrosPerMiss) / (last.nodes - rows[0]!.nodes), 1)} µs. Bytes per idle node stay flat, but Redis still writes each \`loaded\` notice to every subscriber's socket, so its own work per miss grows with the fleet.`,
        ]
      : []),
    `Cache 'error' events and failed calls: ${fmt.int(errors)}; calls that did not run their loader exactly once: ${fmt.int(unloaded)}.`,
  ];
  return lines.join('\n\n');
}

/** Bytes per miss and idle messages per second per node against fleet size, beside the quoted figures. */
export function chart(rows: readonly FleetResult[], caption: string): string {
  const groups = rows.map((row) => `${row.nodes} nodes`);
  const bars = [
    { name: 'herdcache now (measured)', color: PALETTE[0]! },
    { name: 'before, issue 10 (quoted)', color: PALETTE[2]! },
  ];
  const bytes = groupedBarChart({
    title: 'Bytes one idle node receives per miss (1 KB values)',
    yLabel: 'bytes / miss (log)',
    groups,
    bars,
    values: rows.map((row) => [row.bytesPerMiss, BEFORE_BYTES_PER_MISS]),
  });
  // Per minute, not per second: the log axis starts at the decade at or below the smallest value, so a
  // measured rate of exactly 1/s would sit on the axis as a bar of no height.
  const idle = groupedBarChart({
    title: 'Messages one idle node receives per minute while nothing happens (60 = 1 per second)',
    yLabel: 'messages / minute (log)',
    groups,
    bars,
    // Before, every node heard every node's heartbeat: N per second.
    values: rows.map((row) => [row.idleMessagesPerSecond * 60, row.nodes * 60]),
  });
  return svgDocument(
    'Bus benchmark: bytes per miss and idle messages per minute received by one idle node, by fleet size',
    [bytes, idle],
    caption,
  );
}
