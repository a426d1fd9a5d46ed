import { join } from 'node:path';
import { table } from '../lib/report.js';
import type { Outcome, Suite } from './suite.js';

/**
 * Scores runs the way cache-tests.fyi does (the suite's own `determineTestResult`, dependencies honoured),
 * and sets ours beside the published results of the other shared caches, test id by test id.
 */

/** One column of the comparison: a cache and its results by test id. */
export interface Column {
  readonly name: string;
  readonly results: Readonly<Record<string, Outcome>>;
}

interface TestDefinition {
  readonly id: string;
  readonly name?: string;
  readonly kind?: string;
  readonly browser_only?: boolean;
}

interface TestGroup {
  readonly id: string;
  readonly name: string;
  readonly tests: readonly TestDefinition[];
}

/** The verdict kinds of the suite, by the symbol it prints for each. */
const SYMBOLS = {
  pass: '✅',
  fail: '⛔️',
  optional_fail: '⚠️',
  yes: 'Y',
  no: 'N',
  setup_fail: '🔹',
  harness_fail: '⁉️',
  dependency_fail: '⚪️',
  retry: '↻',
  untested: '-',
} as const;

type Kind = keyof typeof SYMBOLS;

/** The suite's own test list and verdict function, loaded from the prepared copy. */
export interface Scorer {
  readonly groups: readonly TestGroup[];
  /** Tests a reverse proxy runs (the browser-only ones are left out). */
  readonly ids: readonly string[];
  verdict(results: Readonly<Record<string, Outcome>>, id: string): Kind;
}

export async function loadScorer(suite: Suite): Promise<Scorer> {
  const groups = ((await import(join(suite.dir, 'tests', 'index.mjs'))) as { default: TestGroup[] }).default;
  const engine = (await import(join(suite.dir, 'test-engine', 'lib', 'results.mjs'))) as {
    determineTestResult(groups: unknown, id: string, results: unknown): readonly string[];
  };
  const bySymbol = new Map<string, Kind>(
    Object.entries(SYMBOLS).map(([kind, symbol]) => [symbol, kind as Kind]),
  );
  return {
    groups,
    ids: groups.flatMap((group) => group.tests.filter((t) => t.browser_only !== true).map((t) => t.id)),
    verdict(results, id) {
      const symbol = engine.determineTestResult(groups, id, results)[2] ?? '-';
      return bySymbol.get(symbol) ?? 'untested';
    },
  };
}

function count(scorer: Scorer, column: Column, kinds: readonly Kind[], ids = scorer.ids): number {
  return ids.filter((id) => kinds.includes(scorer.verdict(column.results, id))).length;
}

/** Per cache: passed, required failures, optional ones not met, and tests that could not be judged. */
export function summaryTable(scorer: Scorer, columns: readonly Column[]): string {
  return table(
    ['cache', 'passed', 'failed', 'optional not met', 'checks yes / no', 'not judged'],
    columns.map((column) => [
      column.name,
      String(count(scorer, column, ['pass'])),
      String(count(scorer, column, ['fail'])),
      String(count(scorer, column, ['optional_fail'])),
      `${count(scorer, column, ['yes'])} / ${count(scorer, column, ['no'])}`,
      String(count(scorer, column, ['setup_fail', 'harness_fail', 'dependency_fail', 'retry', 'untested'])),
    ]),
  );
}

/** Passed tests per group of the suite, one column per cache. */
export function groupTable(scorer: Scorer, columns: readonly Column[]): string {
  const rows = scorer.groups.map((group) => {
    const ids = group.tests.filter((t) => t.browser_only !== true).map((t) => t.id);
    return [`${group.name} (${ids.length})`, ...columns.map((c) => String(count(scorer, c, ['pass'], ids)))];
  });
  return table(['group (tests)', ...columns.map((c) => c.name)], rows);
}

/** Test ids every one of `reference` passes and `ours` does not. */
export function missedCommonPasses(scorer: Scorer, ours: Column, reference: readonly Column[]): string[] {
  return scorer.ids.filter(
    (id) =>
      reference.every((column) => scorer.verdict(column.results, id) === 'pass') &&
      scorer.verdict(ours.results, id) !== 'pass',
  );
}

/** Test ids whose verdict differs between two runs. */
export function differences(scorer: Scorer, a: Column, b: Column): string[] {
  return scorer.ids.filter((id) => scorer.verdict(a.results, id) !== scorer.verdict(b.results, id));
}

/** Every test id with each cache's verdict symbol, and our failure message: the full side-by-side view. */
export function fullTable(scorer: Scorer, columns: readonly Column[], ours: Column): string {
  const rows = scorer.ids.map((id) => {
    const outcome = ours.results[id];
    const message = outcome === undefined || outcome === true ? '' : outcome[1];
    return [id, ...columns.map((c) => SYMBOLS[scorer.verdict(c.results, id)]), message.slice(0, 160)];
  });
  return table(['test id', ...columns.map((c) => c.name), `${ours.name} message`], rows);
}

/** The count a summary line quotes. */
export function passed(scorer: Scorer, column: Column): number {
  return count(scorer, column, ['pass']);
}
