import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache, METRIC_LIST } from '../../src/index.js';
import { prometheusMetrics } from '../../src/prometheus/index.js';

interface Panel {
  readonly title?: string;
  readonly type: string;
  readonly targets?: readonly { readonly expr: string }[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../examples/grafana-dashboard.json', import.meta.url), 'utf8'),
) as {
  panels: Panel[];
  templating: { list: { query?: unknown }[] };
};

const expressions = [
  ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
  ...dashboard.templating.list.flatMap((variable) =>
    typeof variable.query === 'object' && variable.query !== null
      ? [(variable.query as { query: string }).query]
      : [],
  ),
];

/** Every `herdcache_*` series name a query reads, with the label names it matches on. */
function selectors(expr: string): { series: string; labels: string[] }[] {
  return [...expr.matchAll(/(herdcache_[a-z_]+)(\{([^}]*)\})?/g)].map((match) => ({
    series: match[1] as string,
    labels: [...(match[3] ?? '').matchAll(/([a-z_]+)\s*(=~|!~|!=|=)/g)].map((label) => label[1] as string),
  }));
}

const HISTOGRAM_PARTS = ['_bucket', '_sum', '_count'];

const registry = new Registry();
const metrics = prometheusMetrics({ registry });
afterAll(() => metrics.disable());

describe('the README', () => {
  it("documents every metric in the Observability section's table, under both names", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const metric of METRIC_LIST) {
      expect(readme).toContain(
        `| \`${metric.name}\` | \`${metric.prometheus}\` | ${metric.kind} | \`${metric.unit}\` |`,
      );
    }
  });
});

describe('examples/grafana-dashboard.json', () => {
  it('queries only metrics herdcache exposes, with their labels, as a real prom-client scrape shows them', async () => {
    // A cache that did a little of everything cheap, so the scrape has series to show.
    const cache = createCache({ prefix: 'dashboard-test:' });
    await cache.cached('k', () => 1);
    await cache.cached('k', () => 1);
    await cache.invalidate('k');
    const scraped = new Set<string>();
    for (const metric of await registry.getMetricsAsJSON()) {
      scraped.add(metric.name);
      for (const value of metric.values)
        scraped.add((value as { metricName?: string }).metricName ?? metric.name);
    }
    await cache.close();

    const used = expressions.flatMap(selectors);
    expect(used.length).toBeGreaterThan(20);
    for (const { series, labels } of used) {
      const part = HISTOGRAM_PARTS.find((suffix) => series.endsWith(suffix));
      const base = part === undefined ? series : series.slice(0, -part.length);
      const metric = METRIC_LIST.find((m) => m.prometheus === base);
      expect(metric, `${series} is not a herdcache metric`).toBeDefined();
      expect(
        part === undefined || metric?.kind === 'histogram',
        `${series}: only histograms have ${part}`,
      ).toBe(true);
      expect(registry.getSingleMetric(base), `${base} is not registered`).toBeDefined();
      expect(scraped.has(base), `${base} is not in a scrape`).toBe(true);
      const known = ['cache', ...(metric?.labels ?? []), ...(part === '_bucket' ? ['le'] : [])];
      for (const label of labels) expect(known, `${series} has no label ${label}`).toContain(label);
    }
  });

  it('charts hit ratio, loads per second, waits, wake-up latency, the breaker and flushes', () => {
    const read = new Set(
      expressions.flatMap(selectors).map(({ series }) => series.replace(/_(bucket|sum|count)$/, '')),
    );
    for (const name of [
      'herdcache_lookups_total',
      'herdcache_loads_total',
      'herdcache_wait_duration_seconds',
      'herdcache_wake_latency_seconds',
      'herdcache_breaker_open',
      'herdcache_local_flushes_total',
    ]) {
      expect(read).toContain(name);
    }
    const titles = dashboard.panels.map((panel) => panel.title ?? '').join('\n');
    for (const title of ['Hit ratio', 'Loads per second', 'wait', 'Wake-up latency', 'breaker', 'flushes']) {
      expect(titles.toLowerCase()).toContain(title.toLowerCase());
    }
  });
});
