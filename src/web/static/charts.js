// The two charts, drawn with uPlot (served from the installed package). Colours come from
// the theme's custom properties; times are UTC, like the budget days.

import { themeColor } from "./dom.js";
import { usd } from "./format.js";

const SERIES_VARS = 8;

/** A role's colour, stable across charts and reloads. @param {number} index */
export function seriesColor(index) {
  return themeColor(`--series-${(index % SERIES_VARS) + 1}`);
}

/** Charts in one place, resized with their container. */
export class Chart {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    /** @type {any} */
    this.plot = null;
    this.layout = "";
    new ResizeObserver(() => this.resize()).observe(container);
  }

  size() {
    const width = Math.max(240, Math.floor(this.container.clientWidth));
    return { width, height: width < 420 ? 170 : 200 };
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }

  /**
   * Draws `data`; rebuilds the chart only when its series changed.
   * @param {string} layout identifies the series set
   * @param {() => object} options
   * @param {number[][]} data
   */
  draw(layout, options, data) {
    const uPlot = /** @type {any} */ (window).uPlot;
    if (!uPlot) return;
    if (this.plot && this.layout === layout) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.layout = layout;
    this.plot = new uPlot({ ...this.size(), ...options() }, data, this.container);
  }
}

function axes(valueFormat) {
  const grid = { stroke: themeColor("--chart-grid"), width: 1 };
  const common = { stroke: themeColor("--muted"), grid, ticks: grid, font: "11px system-ui" };
  return [common, { ...common, size: 56, values: (_u, values) => values.map(valueFormat) }];
}

const utcDate = (ts) => /** @type {any} */ (window).uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");

/**
 * Spend per role per day as stacked bars: each series is drawn at its cumulative height,
 * tallest first, so every role shows as its own slice. Today's projection (the project's
 * spend at its burn rate, from now to the ceiling or to midnight) is a dashed line over two
 * extra x values after the bars', where the bars have no value.
 * @param {Chart} chart
 * @param {{ x: number[], roles: { role: string, usd: number[] }[],
 *   projection: { x: number[], usd: number[], caption: string } | null }} spend
 */
export function drawSpend(chart, spend) {
  const uPlot = /** @type {any} */ (window).uPlot;
  if (!uPlot) return;
  const roles = spend.roles;
  const projection = spend.projection;
  const extra = projection ? projection.x.length : 0;
  // undefined, not null: uPlot sizes bars by the closest x values that have one, and the
  // projection's x values, hours apart, would squeeze every bar to a sliver.
  const pad = (values) => [...values, ...new Array(extra).fill(undefined)];
  const stacked = [];
  let running = spend.x.map(() => 0);
  for (const r of roles) {
    running = running.map((v, i) => v + r.usd[i]);
    stacked.push(running);
  }
  const order = roles.map((_, i) => i).reverse();
  const bars = uPlot.paths.bars({ size: [0.62, 28], gap: 2 });
  const projected = themeColor("--chart-projection");
  const series = [
    {},
    ...order.map((i) => ({
      label: roles[i].role,
      stroke: seriesColor(i),
      fill: seriesColor(i),
      width: 0,
      paths: bars,
      points: { show: false },
    })),
  ];
  const data = [[...spend.x, ...(projection?.x ?? [])], ...order.map((i) => pad(stacked[i]))];
  if (projection) {
    series.push({
      label: "projected today",
      stroke: projected,
      width: 2,
      dash: [6, 4],
      points: { show: true, size: 5, stroke: projected, fill: projected },
    });
    data.push([...new Array(spend.x.length).fill(null), ...projection.usd]);
  }
  chart.draw(
    `spend:${roles.map((r) => r.role).join(",")}:${projection ? "projected" : ""}`,
    () => ({
      tzDate: utcDate,
      legend: { live: false },
      cursor: { points: { show: false } },
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(max, 1) * 1.1] },
      },
      axes: axes((v) => usd(v)),
      series,
    }),
    data,
  );
  const caption = document.getElementById("spend-caption");
  if (caption) {
    caption.hidden = !projection;
    caption.textContent = projection?.caption ?? "";
  }
}

/**
 * What came in and what finished per bucket (bars, left axis) and the open tasks at each
 * bucket's end (line, right axis: it can be far larger than one bucket's flow).
 * @param {Chart} chart
 * @param {{ range: string, x: number[], created: number[], finished: number[],
 *   depth: number[] }} queue
 */
export function drawQueue(chart, queue) {
  const uPlot = /** @type {any} */ (window).uPlot;
  if (!uPlot) return;
  const whole = (v) => (Number.isInteger(v) ? v.toLocaleString("en-US") : "");
  const [xAxis, yAxis] = axes(whole);
  const created = themeColor("--chart-created");
  const finished = themeColor("--chart-finished");
  const depth = themeColor("--chart-depth");
  chart.draw(
    `queue:${queue.range}`,
    () => ({
      tzDate: utcDate,
      legend: { live: false },
      cursor: { points: { show: false } },
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(max, 4) * 1.15] },
        open: { range: (_u, _min, max) => [0, Math.max(max, 4) * 1.15] },
      },
      axes: [
        xAxis,
        yAxis,
        { ...yAxis, scale: "open", side: 1, grid: { show: false }, stroke: depth },
      ],
      series: [
        {},
        {
          label: "filed",
          stroke: created,
          fill: `${created}aa`,
          width: 0,
          paths: uPlot.paths.bars({ size: [0.36, 14], align: -1 }),
          points: { show: false },
        },
        {
          label: "finished",
          stroke: finished,
          fill: `${finished}aa`,
          width: 0,
          paths: uPlot.paths.bars({ size: [0.36, 14], align: 1 }),
          points: { show: false },
        },
        {
          label: "open (right axis)",
          scale: "open",
          stroke: depth,
          width: 2,
          points: { show: false },
        },
      ],
    }),
    [queue.x, queue.created, queue.finished, queue.depth],
  );
}
