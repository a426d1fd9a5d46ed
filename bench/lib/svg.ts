/**
 * Small hand-written SVG charts (no chart dependency): a line chart and a grouped bar chart, both with a
 * log y axis because the rows differ by orders of magnitude (1 load per second against thousands).
 */

export const PALETTE = [
  '#d62728',
  '#ff7f0e',
  '#7f7f7f',
  '#1f77b4',
  '#2ca02c',
  '#9467bd',
  '#8c564b',
  '#e377c2',
];

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

function esc(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function num(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** 1, 10, 100, 1k, 10k, 0.1 ... */
function shortNumber(value: number): string {
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}k`;
  return String(Number(value.toPrecision(3)));
}

/**
 * Log scale over whole decades covering the positive values. Zero gets its own tick in a band under the
 * lowest decade, so "no calls" is not confused with the smallest count.
 */
class LogScale {
  readonly low: number;
  readonly high: number;
  readonly hasZero: boolean;
  readonly #decadesBottom: number;
  constructor(
    values: readonly number[],
    readonly top: number,
    readonly bottom: number,
  ) {
    const positive = values.filter((v) => v > 0);
    const min = positive.length > 0 ? Math.min(...positive) : 1;
    const max = positive.length > 0 ? Math.max(...positive) : 10;
    this.low = Math.floor(Math.log10(min));
    this.high = Math.max(this.low + 1, Math.ceil(Math.log10(max)));
    this.hasZero = values.some((v) => v <= 0);
    this.#decadesBottom = this.hasZero ? bottom - 22 : bottom;
  }
  y(value: number): number {
    if (value <= 0) return this.bottom;
    const exponent = Math.max(this.low, Math.log10(value));
    return (
      this.#decadesBottom -
      ((exponent - this.low) / (this.high - this.low)) * (this.#decadesBottom - this.top)
    );
  }
  ticks(): number[] {
    const ticks: number[] = this.hasZero ? [0] : [];
    for (let e = this.low; e <= this.high; e += 1) ticks.push(10 ** e);
    return ticks;
  }
}

function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step ?? raw;
}

export interface Panel {
  readonly width: number;
  readonly height: number;
  /** SVG elements drawn in the panel's own coordinates. */
  readonly body: string;
}

interface Frame {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

function frame(width: number, height: number, legendRows: number): Frame {
  return { left: 64, right: width - 16, top: 40, bottom: height - 48 - legendRows * 18 };
}

function yAxis(scale: LogScale, f: Frame, label: string): string {
  const parts: string[] = [];
  for (const tick of scale.ticks()) {
    const y = num(scale.y(tick));
    parts.push(`<line x1="${f.left}" x2="${f.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${f.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${shortNumber(tick)}</text>`,
    );
  }
  const middle = (f.top + f.bottom) / 2;
  parts.push(
    `<text transform="translate(14 ${num(middle)}) rotate(-90)" text-anchor="middle" font-size="12">${esc(label)}</text>`,
  );
  parts.push(`<line x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${f.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${f.left}" x2="${f.right}" y1="${f.bottom}" y2="${f.bottom}" stroke="#333"/>`);
  return parts.join('');
}

function title(text: string, width: number): string {
  return `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(text)}</text>`;
}

/** Legend entries laid out in rows under the plot. */
function legend(
  items: readonly { name: string; color: string }[],
  width: number,
  y: number,
): { svg: string; rows: number } {
  const parts: string[] = [];
  let x = 64;
  let row = 0;
  for (const item of items) {
    const w = 28 + item.name.length * 7 + 16;
    if (x + w > width - 8) {
      row += 1;
      x = 64;
    }
    const yy = y + row * 18;
    parts.push(`<rect x="${x}" y="${yy - 5}" width="18" height="10" fill="${item.color}"/>`);
    parts.push(
      `<text x="${x + 24}" y="${yy}" dominant-baseline="middle" font-size="12">${esc(item.name)}</text>`,
    );
    x += w;
  }
  return { svg: parts.join(''), rows: row + 1 };
}

function legendRows(names: readonly string[], width: number): number {
  return legend(
    names.map((name) => ({ name, color: '#000' })),
    width,
    0,
  ).rows;
}

export interface LineSeries {
  readonly name: string;
  readonly color: string;
  /** [x, y] pairs, x ascending. */
  readonly points: readonly (readonly [number, number])[];
  /** Drawn thicker: the row the chart is about. */
  readonly emphasis?: boolean;
}

/** Step lines (each point held until the next) over a shared x axis, log y. */
export function lineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Width of each point's step along x: a point covers [x, x + step). */
  step?: number;
  width?: number;
  height?: number;
}): Panel {
  const width = options.width ?? 860;
  const height = options.height ?? 360;
  const rows = legendRows(
    options.series.map((s) => s.name),
    width,
  );
  const f = frame(width, height, rows);
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(1, ...xs) + (options.step ?? 0);
  const x = (value: number) => f.left + ((value - xMin) / (xMax - xMin)) * (f.right - f.left);
  const scale = new LogScale(
    options.series.flatMap((s) => s.points.map((p) => p[1])),
    f.top,
    f.bottom,
  );
  const parts: string[] = [title(options.title, width), yAxis(scale, f, options.yLabel)];
  const step = niceStep(xMax - xMin, 10);
  for (let tick = Math.ceil(xMin / step) * step; tick <= xMax + 1e-9; tick += step) {
    const xx = num(x(tick));
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${f.bottom}" y2="${f.bottom + 4}" stroke="#333"/>`);
    parts.push(
      `<text x="${xx}" y="${f.bottom + 16}" text-anchor="middle" font-size="11">${shortNumber(tick)}</text>`,
    );
  }
  parts.push(
    `<text x="${(f.left + f.right) / 2}" y="${f.bottom + 34}" text-anchor="middle" font-size="12">${esc(options.xLabel)}</text>`,
  );
  // Series with equal values would hide each other: each is drawn a little apart (2 px per series).
  const offset = new Map(options.series.map((s, i) => [s.name, (i - (options.series.length - 1) / 2) * -2]));
  // Emphasised series last, so they are drawn on top.
  const ordered = [...options.series].sort(
    (a, b) => Number(a.emphasis ?? false) - Number(b.emphasis ?? false),
  );
  for (const s of ordered) {
    if (s.points.length === 0) continue;
    const dy = offset.get(s.name) ?? 0;
    let d = '';
    s.points.forEach(([px, py], index) => {
      const yy = num(scale.y(py) + dy);
      d += index === 0 ? `M${num(x(px))} ${yy}` : `V${yy}`;
      d += `H${num(x(px + (options.step ?? 0)))}`;
    });
    const stroke = s.emphasis ? 2.5 : 1.5;
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${stroke}" stroke-opacity="0.9"/>`,
    );
  }
  parts.push(legend(options.series, width, f.bottom + 52).svg);
  return { width, height, body: parts.join('') };
}

/** Bars per group (e.g. p50/p99/p999/max per library), log y. */
export function groupedBarChart(options: {
  title: string;
  yLabel: string;
  groups: readonly string[];
  bars: readonly { name: string; color: string }[];
  /** values[group][bar] */
  values: readonly (readonly number[])[];
  width?: number;
  height?: number;
}): Panel {
  const width = options.width ?? 860;
  const height = options.height ?? 360;
  const rows = legendRows(
    options.bars.map((b) => b.name),
    width,
  );
  const f = frame(width, height, rows);
  const scale = new LogScale(options.values.flat(), f.top, f.bottom);
  const parts: string[] = [title(options.title, width), yAxis(scale, f, options.yLabel)];
  const groupWidth = (f.right - f.left) / Math.max(1, options.groups.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, options.bars.length);
  options.groups.forEach((group, g) => {
    const x0 = f.left + g * groupWidth + groupWidth * 0.1;
    options.bars.forEach((bar, b) => {
      const value = options.values[g]?.[b] ?? 0;
      const top = scale.y(value);
      parts.push(
        `<rect x="${num(x0 + b * barWidth)}" y="${num(top)}" width="${num(barWidth - 1)}" height="${num(Math.max(0, f.bottom - top))}" fill="${bar.color}"><title>${esc(`${group} ${bar.name}: ${value}`)}</title></rect>`,
      );
    });
    // Long names on neighbouring groups would overlap: every other label drops one line.
    const crowded = options.groups.some((name) => name.length * 6.5 > groupWidth);
    const y = f.bottom + 16 + (crowded && g % 2 === 1 ? 14 : 0);
    parts.push(
      `<text x="${num(x0 + groupWidth * 0.4)}" y="${y}" text-anchor="middle" font-size="11">${esc(group)}</text>`,
    );
  });
  parts.push(legend(options.bars, width, f.bottom + 52).svg);
  return { width, height, body: parts.join('') };
}

/** Stacks panels vertically into one SVG document; `name` is its accessible title. */
export function svgDocument(name: string, panels: readonly Panel[], caption?: string): string {
  const width = Math.max(...panels.map((p) => p.width));
  let y = 0;
  const groups = panels.map((panel) => {
    const group = `<g transform="translate(0 ${y})">${panel.body}</g>`;
    y += panel.height;
    return group;
  });
  const footer = caption
    ? `<text x="${width - 8}" y="${y + 14}" text-anchor="end" font-size="10" fill="#666">${esc(caption)}</text>`
    : '';
  const height = y + (caption ? 22 : 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<title>${esc(name)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...groups,
    footer,
    '</svg>',
    '',
  ].join('\n');
}
