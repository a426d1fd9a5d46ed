/** The stampede's tables and chart. */
import { fmt, installedVersion, table, verdict } from '../lib/report.js';
import { groupedBarChart, lineChart, PALETTE, svgDocument } from '../lib/svg.js';
import type { Peer } from '../peers/types.js';
import { BIN_MS, isHerdcache, type StampedeRow } from './row.js';

/** Ideal is 1 (or just under: a value is reloaded every ttl + load time). */
export const CALLS_PER_WINDOW_TARGET = 1.05;

/** One markdown row per library, each figure beside its target. */
export function rowsTable(rows: readonly StampedeRow[]): string {
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

/** What goes under the table: rows that could not run, error samples, counts that went missing. */
export function notes(rows: readonly StampedeRow[]): string {
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

/** One SVG per key set: loader calls per second over time, then latency percentiles per library. */
export function chart(rows: readonly StampedeRow[], label: string, caption: string): string {
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

/** Each library's installed package versions and how it is set up. */
export function setupTable(peers: readonly Peer[]): string {
  return table(
    ['library', 'packages', 'set up as'],
    peers.map((peer) => [
      peer.name,
      peer.packages.map((name) => `${name} ${installedVersion(name, peer.installedIn)}`).join(', ') || '–',
      `\`${peer.setup}\``,
    ]),
  );
}
