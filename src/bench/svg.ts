// A small SVG line-chart writer for bench results (people would rather look than read): one
// panel per measure, one line per server, the x axis the concurrency levels. No dependency: the
// charts are a few polylines, axes and labels. Pure, unit-tested.

export interface ChartSeries {
  name: string;
  /** [x, y]; a null y leaves a gap in the line (a level that failed or was not measured). */
  points: readonly (readonly [number, number | null])[];
}

export interface ChartPanel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
}

export interface ChartOptions {
  title: string;
  /** Smaller text under the title (model, threads, commit). */
  subtitle?: string;
  panels: readonly ChartPanel[];
  panelWidth?: number;
  panelHeight?: number;
}

/** Colours that stay apart for colour-blind readers (Okabe–Ito), one per series in order. */
export const SERIES_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"] as const;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** An upper bound at or above `max` on the 1-2-5 scale (so ticks read 0, 20, 40...), and its tick step. */
export function niceScale(max: number, ticks = 5): { top: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { top: 1, step: 0.2 };
  const rough = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

const num = (v: number): string => (Math.round(v * 10) / 10).toString();

function tickLabel(v: number): string {
  if (v === 0) return "0";
  if (Math.abs(v) >= 10_000) return `${num(v / 1000)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 2 : 1);
}

interface PanelFrame {
  left: number;
  top: number;
  plotW: number;
  plotH: number;
  yAt: (y: number) => number;
  /** The panel's title, the grid and the y ticks: drawn first. */
  grid: string[];
  /** The two axes and the y label: drawn over the bars. */
  axes: string[];
}

/** What every panel at (x0, y0) has: its title, a y axis from 0 to a round value above `values`, the grid. */
function panelFrame(
  panel: { title: string; yLabel: string },
  values: readonly (number | null)[],
  [x0, y0, width, height]: readonly [number, number, number, number],
  bottom: number,
): PanelFrame {
  const margin = { left: 64, right: 16, top: 28, bottom };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const left = x0 + margin.left;
  const top = y0 + margin.top;
  const ys = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const { top: yTop, step } = niceScale(Math.max(0, ...ys));
  const yAt = (y: number): number => top + plotH - (y / yTop) * plotH;
  const grid = [
    `<text x="${num(x0 + width / 2)}" y="${num(y0 + 16)}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`,
  ];
  for (let v = 0; v <= yTop + step / 2; v += step) {
    const y = num(yAt(v));
    grid.push(`<line x1="${num(left)}" y1="${y}" x2="${num(left + plotW)}" y2="${y}" stroke="#e0e0e0"/>`);
    grid.push(
      `<text x="${num(left - 6)}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${tickLabel(v)}</text>`,
    );
  }
  const yMid = top + plotH / 2;
  const axes = [
    `<line x1="${num(left)}" y1="${num(top + plotH)}" x2="${num(left + plotW)}" y2="${num(top + plotH)}" stroke="#333"/>`,
    `<line x1="${num(left)}" y1="${num(top)}" x2="${num(left)}" y2="${num(top + plotH)}" stroke="#333"/>`,
    `<text class="y-label" x="${num(x0 + 16)}" y="${num(yMid)}" text-anchor="middle" font-size="12" transform="rotate(-90 ${num(x0 + 16)} ${num(yMid)})">${escapeXml(panel.yLabel)}</text>`,
  ];
  return { left, top, plotW, plotH, yAt, grid, axes };
}

/**
 * One panel at (x0, y0). The x positions are the distinct x values evenly spaced (concurrency
 * levels 1, 2, 4, 8, 16 read better evenly spaced than on a linear axis), each labelled.
 */
function panelSvg(
  panel: ChartPanel,
  x0: number,
  y0: number,
  width: number,
  height: number,
  colourOf: (name: string) => string,
): string {
  const ys = panel.series.flatMap((s) => s.points.map((p) => p[1]));
  const frame = panelFrame(panel, ys, [x0, y0, width, height], 48);
  const { left, top, plotW, plotH, yAt } = frame;
  const xs = [...new Set(panel.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const xAt = (x: number): number => left + (xs.length <= 1 ? plotW / 2 : (xs.indexOf(x) / (xs.length - 1)) * plotW);
  const out: string[] = [`<g class="panel">`, ...frame.grid];
  for (const x of xs) {
    const px = num(xAt(x));
    out.push(`<line x1="${px}" y1="${num(top + plotH)}" x2="${px}" y2="${num(top + plotH + 4)}" stroke="#333"/>`);
    out.push(`<text x="${px}" y="${num(top + plotH + 16)}" text-anchor="middle" font-size="11">${tickLabel(x)}</text>`);
  }
  out.push(...frame.axes);
  out.push(
    `<text class="x-label" x="${num(left + plotW / 2)}" y="${num(top + plotH + 36)}" text-anchor="middle" font-size="12">${escapeXml(panel.xLabel)}</text>`,
  );
  // Series: a polyline per run of measured points, a dot on each point.
  for (const series of panel.series) {
    const colour = colourOf(series.name);
    out.push(`<g class="series" data-name="${escapeXml(series.name)}">`);
    const sorted = [...series.points].sort((a, b) => a[0] - b[0]);
    let run: string[] = [];
    const flush = (): void => {
      if (run.length > 1)
        out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${run.join(" ")}"/>`);
      run = [];
    };
    for (const [x, y] of sorted) {
      if (y === null || !Number.isFinite(y)) {
        flush();
        continue;
      }
      const px = num(xAt(x));
      const py = num(yAt(y));
      run.push(`${px},${py}`);
      out.push(
        `<circle cx="${px}" cy="${py}" r="3" fill="${colour}"><title>${escapeXml(`${series.name}: ${tickLabel(x)} → ${num(y)}`)}</title></circle>`,
      );
    }
    flush();
    out.push(`</g>`);
  }
  out.push(`</g>`);
  return out.join("\n");
}

/** Line panels side by side under a title and one legend: a complete SVG document. */
export function lineChartsSvg(options: ChartOptions): string {
  return chartDocument(options, 440, "line", panelSvg);
}

/**
 * The document around a row of panels: the title, the subtitle, one legend (a series keeps its
 * colour in every panel, by name in order of first appearance, so one legend serves them all and
 * none is drawn over a line), then the panels side by side.
 */
function chartDocument<P extends { series: readonly { name: string }[] }>(
  options: { title: string; subtitle?: string; panels: readonly P[]; panelWidth?: number; panelHeight?: number },
  defaultPanelWidth: number,
  legendMark: "line" | "box",
  panelSvg: (
    panel: P,
    x0: number,
    y0: number,
    width: number,
    height: number,
    colourOf: (name: string) => string,
  ) => string,
): string {
  const pw = options.panelWidth ?? defaultPanelWidth;
  const panelHeight = options.panelHeight ?? 320;
  const mark = (x: number, y: number, colour: string): string =>
    legendMark === "line"
      ? `<line x1="${num(x)}" y1="${y}" x2="${num(x + 20)}" y2="${y}" stroke="${colour}" stroke-width="3"/>`
      : `<rect x="${num(x)}" y="${y - 6}" width="20" height="12" fill="${colour}"/>`;
  const names = [...new Set(options.panels.flatMap((p) => p.series.map((s) => s.name)))];
  const colourOf = (name: string): string => SERIES_COLOURS[names.indexOf(name) % SERIES_COLOURS.length]!;
  const legendY = options.subtitle === undefined ? 42 : 60;
  const header = legendY + 14;
  const width = pw * Math.max(1, options.panels.length);
  const height = header + panelHeight;
  // Legend entries centred in a row: a mark in the series' colour, then its name.
  const entryWidth = (name: string): number => 34 + name.length * 6.5;
  const legendWidth = names.reduce((w, n) => w + entryWidth(n), 0);
  let lx = (width - legendWidth) / 2;
  const legend = names.map((name) => {
    const x = lx;
    lx += entryWidth(name);
    return (
      `<g class="legend-entry">${mark(x, legendY, colourOf(name))}` +
      `<text x="${num(x + 25)}" y="${legendY}" dominant-baseline="middle" font-size="12">${escapeXml(name)}</text></g>`
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${num(width / 2)}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
    ...(options.subtitle === undefined
      ? []
      : [
          `<text x="${num(width / 2)}" y="40" text-anchor="middle" font-size="11" fill="#555">${escapeXml(options.subtitle)}</text>`,
        ]),
    ...legend,
    ...options.panels.map((p, i) => panelSvg(p, i * pw, header, pw, panelHeight, colourOf)),
    `</svg>`,
    "",
  ].join("\n");
}

// ---- bar charts -----------------------------------------------------------------------------------

export interface BarPanel {
  title: string;
  yLabel: string;
  /** The groups along the x axis (e.g. routing policies), in order. */
  categories: readonly string[];
  /** One bar per series in each category; a null value leaves its bar out. */
  series: readonly { name: string; values: readonly (number | null)[] }[];
}

export interface BarChartOptions {
  title: string;
  subtitle?: string;
  panels: readonly BarPanel[];
  panelWidth?: number;
  panelHeight?: number;
}

function barPanelSvg(
  panel: BarPanel,
  x0: number,
  y0: number,
  width: number,
  height: number,
  colourOf: (name: string) => string,
): string {
  const values = panel.series.flatMap((s) => s.values);
  const frame = panelFrame(panel, values, [x0, y0, width, height], 40);
  const { left, top, plotW, plotH, yAt } = frame;
  const groupW = plotW / Math.max(1, panel.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, panel.series.length);
  const out: string[] = [`<g class="panel">`, ...frame.grid];
  for (const [c, category] of panel.categories.entries()) {
    const gx = left + c * groupW + groupW * 0.1;
    out.push(
      `<text x="${num(left + (c + 0.5) * groupW)}" y="${num(top + plotH + 16)}" text-anchor="middle" font-size="11">${escapeXml(category)}</text>`,
    );
    for (const [s, series] of panel.series.entries()) {
      const value = series.values[c] ?? null;
      if (value === null || !Number.isFinite(value)) continue;
      const y = yAt(Math.max(0, value));
      out.push(
        `<rect class="bar" x="${num(gx + s * barW)}" y="${num(y)}" width="${num(barW * 0.92)}" height="${num(top + plotH - y)}" fill="${colourOf(series.name)}"><title>${escapeXml(`${series.name}, ${category}: ${num(value)}`)}</title></rect>`,
      );
      out.push(
        `<text x="${num(gx + (s + 0.46) * barW)}" y="${num(y - 4)}" text-anchor="middle" font-size="10">${value >= 100 ? Math.round(value) : value >= 10 ? num(value) : value.toFixed(2)}</text>`,
      );
    }
  }
  out.push(...frame.axes, `</g>`);
  return out.join("\n");
}

/**
 * Bar panels side by side under a title and one legend (one colour per series name, as in
 * lineChartsSvg): grouped bars, one group per category, a bar per series with its value on top.
 */
export function barChartsSvg(options: BarChartOptions): string {
  return chartDocument(options, 400, "box", barPanelSvg);
}
