import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = new URL('../', import.meta.url);
const ROOT_DIR = new URL('../../', import.meta.url);
const README = new URL('README.md', BENCH_DIR);
const RESULTS_DIR = new URL('results/', BENCH_DIR);
export const CHARTS_DIR = new URL('charts/', BENCH_DIR);

/** The machine beside every number. */
export interface Machine {
  readonly date: string;
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly platform: string;
}

export function machine(): Machine {
  const list = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    platform: `${process.platform} ${process.arch}`,
  };
}

export function machineLine(m: Machine = machine()): string {
  return `${m.date.slice(0, 16).replace('T', ' ')} UTC · Node ${m.node} · ${m.cpu} · ${m.cores} cores · ${m.platform}`;
}

/** The installed version of an npm package, read from its package.json. */
export function installedVersion(name: string, installedIn: URL = ROOT_DIR): string {
  try {
    const text = readFileSync(new URL(`node_modules/${name}/package.json`, installedIn), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '?';
  } catch {
    return 'not installed';
  }
}

/** A target beside its figure. */
export interface Verdict {
  readonly pass: boolean;
  readonly text: string;
}

export function verdict(pass: boolean): Verdict {
  return { pass, text: pass ? 'PASS' : 'FALLS SHORT' };
}

/** A GitHub-flavoured markdown table; numeric-looking columns are right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const numeric = headers.map((_, column) =>
    rows.every((row) => /^[-+]?[\d.,]+( ?[a-zµ%×/]+)?$|^n\/a$|^–$/.test(row[column] ?? '')),
  );
  const escapeCell = (cell: string) => cell.replaceAll('|', '\\|');
  const lines = [
    `| ${headers.map(escapeCell).join(' | ')} |`,
    `| ${headers.map((_, i) => (numeric[i] ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** Formatting with a sensible number of digits. */
export const fmt = {
  ms(value: number): string {
    if (!Number.isFinite(value)) return 'n/a';
    if (value < 0.01) return `${(value * 1000).toFixed(2)} µs`;
    if (value < 1) return `${value.toFixed(3)} ms`;
    if (value < 10) return `${value.toFixed(2)} ms`;
    if (value < 100) return `${value.toFixed(1)} ms`;
    return `${Math.round(value).toLocaleString('en-US')} ms`;
  },
  int(value: number): string {
    return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
  },
  ratio(value: number, digits = 2): string {
    return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
  },
  pct(value: number, digits = 1): string {
    return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : 'n/a';
  },
};

/** One scenario's results: markdown for humans, records for machines. */
export interface ScenarioReport {
  /** Used for README markers and the JSON lines file name. */
  readonly id: string;
  readonly title: string;
  readonly markdown: string;
  readonly records: readonly Record<string, unknown>[];
  /** Targets: every verdict printed in the tables, collected for the suite summary. */
  readonly verdicts: readonly { readonly what: string; readonly figure: string; readonly verdict: Verdict }[];
}

/** Appends the records as JSON lines to bench/results/<id>.jsonl (gitignored). */
export function writeRecords(report: ScenarioReport, runId: string, m: Machine): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = new URL(`${report.id}.jsonl`, RESULTS_DIR);
  const lines = report.records.map((record) =>
    JSON.stringify({ runId, scenario: report.id, machine: m, ...record }),
  );
  appendFileSync(file, `${lines.join('\n')}\n`);
  return fileURLToPath(file);
}

function markers(id: string): { start: string; end: string } {
  return { start: `<!-- bench:${id}:start -->`, end: `<!-- bench:${id}:end -->` };
}

const RESULTS_START = '<!-- results:start -->';
const RESULTS_END = '<!-- results:end -->';

/**
 * Replaces this scenario's block inside the README's results section (between its own markers), so a
 * rerun of one scenario replaces its numbers and keeps the others and the hand-written text.
 */
export function writeReadmeSection(report: ScenarioReport, options: { first?: boolean } = {}): void {
  const { start, end } = markers(report.id);
  const block = `${start}\n### ${report.title}\n\n${report.markdown.trim()}\n${end}`;
  let text = existsSync(README)
    ? readFileSync(README, 'utf8')
    : `# Benchmarks\n\n${RESULTS_START}\n${RESULTS_END}\n`;
  if (!text.includes(RESULTS_START)) text = `${text.trimEnd()}\n\n${RESULTS_START}\n${RESULTS_END}\n`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from >= 0 && to > from) {
    text = text.slice(0, from) + block + text.slice(to + end.length);
  } else if (options.first) {
    const at = text.indexOf(RESULTS_START) + RESULTS_START.length;
    text = `${text.slice(0, at)}\n${block}\n${text.slice(at)}`;
  } else {
    const at = text.indexOf(RESULTS_END);
    text = `${text.slice(0, at)}${block}\n\n${text.slice(at)}`;
  }
  writeFileSync(README, text);
}

/** Writes a chart to bench/charts and returns its path relative to bench/ for a markdown link. */
export function writeChart(name: string, svg: string): string {
  mkdirSync(CHARTS_DIR, { recursive: true });
  writeFileSync(new URL(name, CHARTS_DIR), svg);
  return `charts/${name}`;
}

/** A run id that sorts by time and is safe in Redis keys. */
export function newRunId(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}
