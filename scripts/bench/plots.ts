// The benchmark's figures as plots: a run's results saved as JSON, and SVG
// files drawn from such a file. Each plot is a vega-lite spec over points
// picked out of the results by case name; vega renders it to SVG headless
// (no canvas: text widths are estimated, which is fine for labels).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { Result } from "../bench.ts";

type Figure = Result & { runs: number };

/** A run as docs/bench/results.json holds it: how it was run, and every case's figure. */
export interface SavedRun {
  command: string;
  date: string;
  machine: string;
  results: Figure[];
}

export function saveResults(path: string, command: string, results: Figure[]): void {
  const run: SavedRun = { command, date: new Date().toISOString().slice(0, 10), machine: `${cpus().length} × ${cpus()[0]?.model ?? "?"}, Bun ${Bun.version}`, results };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(run, null, 2)}\n`);
  console.error(`wrote ${path}`);
}

/** One point of a plot: a case's median at one size, its spread over the runs, and the series it belongs to. */
interface Point {
  bytes: number;
  value: number;
  min: number;
  max: number;
  series: string;
  /** A second grouping drawn as the line's dash and the point's shape (who sends to whom). */
  pair: string;
  /** The panel the point is drawn in, side by side with the others ("" when the plot has one). */
  panel: string;
}

/**
 * Which cases make a series: a pattern over the case name whose named
 * groups give the size (`size`, "1 MiB" or a byte count) and, where the
 * name says so, the sender and receiver (`from`, `to`).
 */
interface Series {
  label: string;
  pattern: RegExp;
  /** The pair when the case name does not say (the TypeScript cases name none). */
  pair?: string;
  /** The figure to plot, when it is not the case's value (bandwidth from records/s). */
  scale?: (value: number, bytes: number) => number;
  /** Series timed alike share a panel: what the panel's figures time. */
  panel?: string;
}

const SIZE = String.raw`(?<size>\d+ (?:KiB|MiB|GiB))`;
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 2 ** 20, GiB: 2 ** 30 };
const bytesOf = (size: string) => {
  const [count, unit] = size.split(" ");
  return Number(count) * UNITS[unit ?? "B"]!;
};
/** How the benchmark's case names spell a runtime, as the plots' legends do. */
const runtime = (name: string) => ({ TS: "TS (Bun)", Deno: "Deno", Go: "Go", Python: "Python", C: "C" })[name] ?? name;

function points(results: Figure[], series: Series[]): Point[] {
  const found: Point[] = [];
  for (const r of results) {
    for (const s of series) {
      const groups = s.pattern.exec(r.case)?.groups;
      if (!groups) continue;
      const bytes = bytesOf(groups.size!);
      const scale = s.scale ?? ((value: number) => value);
      const pair = groups.from ? `${runtime(groups.from)} → ${runtime(groups.to!)}` : s.pair ?? "";
      const value = scale(r.value, bytes), min = scale(r.min ?? r.value, bytes);
      // A log axis cannot show a bound at or below 0: such a run's figure
      // (Go's "commit -> usable" is stamped when Write returns, which can be
      // after the reader holds the batch) stays in the tables, not the bar.
      found.push({ bytes, value, min: min > 0 ? min : value, max: scale(r.max ?? r.value, bytes), series: s.label, pair, panel: s.panel ?? "" });
      break;
    }
  }
  return found;
}

const PAIR = String.raw`(?<from>TS|Deno|Go|Python)->(?<to>TS|Deno|Python)`;

/**
 * The Arrow hand-off: from sending to the receiver holding a usable batch.
 * Two panels, each comparing figures timed alike: shmpipe from the writer's
 * commit (the reader's whole cost), and every way of sending from before
 * the sender copies or serialises the batch.
 */
const FROM_COMMIT = "shmpipe: from the writer's commit";
const FROM_START = "every way: from before the sender copies or serialises";
const TS_TO_TS = "TS (Bun) → TS (Bun)";
const HANDOFF: Series[] = [
  { label: "shmpipe, commit → usable", pattern: new RegExp(`^shmpipe ${PAIR} commit -> usable, ${SIZE} batch$`), panel: FROM_COMMIT },
  { label: "shmpipe, write → usable", pattern: new RegExp(`^shmpipe ${PAIR} write -> usable, ${SIZE} batch$`), panel: FROM_START },
  { label: "Arrow IPC over a Unix socket", pattern: new RegExp(`^Arrow IPC over Unix socket(?: ${PAIR})?, ${SIZE} batch$`), pair: TS_TO_TS, panel: FROM_START },
  { label: "Arrow IPC over ZeroMQ", pattern: new RegExp(`^Arrow IPC over ZeroMQ \\(PUSH/PULL, ipc://\\) ${PAIR}, ${SIZE} batch$`), panel: FROM_START },
  { label: "Arrow IPC over TCP loopback", pattern: new RegExp(`^Arrow IPC over TCP loopback, ${SIZE} batch$`), pair: TS_TO_TS, panel: FROM_START },
  { label: "JSON over HTTP", pattern: new RegExp(`^JSON over HTTP \\(fetch -> Bun.serve\\), ${SIZE} batch$`), pair: TS_TO_TS, panel: FROM_START },
  { label: "CSV file written + parsed", pattern: new RegExp(`^CSV file written \\+ parsed, ${SIZE} batch$`), pair: TS_TO_TS, panel: FROM_START },
];

/** The reader's own work per batch, in one process, beside pyarrow's decode of the same message. */
const READER: Series[] = [
  { label: "shmpipe TS (Bun): check + decode + views", pattern: new RegExp(`^shmpipe TS reader's work per batch \\(one process\\), ${SIZE} batch$`) },
  { label: "shmpipe Deno: check + decode + views", pattern: new RegExp(`^shmpipe Deno reader's work per batch \\(one process\\), ${SIZE} batch$`) },
  { label: "pyarrow read_record_batch (decode only)", pattern: new RegExp(`^pyarrow read_record_batch \\(one process\\), ${SIZE} batch$`) },
];

/** Payload bandwidth from records/s. */
const bandwidth = (recordsPerSecond: number, bytes: number) => (recordsPerSecond * bytes) / 2 ** 20;
const ONE_WAY: Series[] = [
  { label: "C → C, a call per record", pattern: /^C->C one way through the core, (?<size>\d+) B records$/, scale: bandwidth },
  { label: "C → C, batches of 256", pattern: /^C->C one way through the core, batches of 256, (?<size>\d+) B records$/, scale: bandwidth },
  ...["TS", "Go", "Deno", "Python"].flatMap((name): Series[] => [
    { label: `${runtime(name)}, a call per record`, pattern: new RegExp(`^shmpipe ${name}->${name} one way, (?:send \\+ messages\\(\\)|Send \\+ Recv|send \\+ recv), (?<size>\\d+) B records$`), scale: bandwidth },
    { label: `${runtime(name)}, batches`, pattern: new RegExp(`^shmpipe ${name}->${name} one way, (?:sendPacked \\+ batches\\(\\), read in place|SendBatch \\+ RecvBatch|send_batch \\+ batches\\(\\), a view per record), (?<size>\\d+) B records$`), scale: bandwidth },
  ]),
];

/** A byte count as the axis shows it: 64 B, 1 KiB, 100 MiB, 1 GiB. */
const BYTES_LABEL = "datum.value >= 1073741824 ? format(datum.value / 1073741824, '~g') + ' GiB' : datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + ' MiB' : datum.value >= 1024 ? format(datum.value / 1024, '~g') + ' KiB' : datum.value + ' B'";
/** A time in µs as the axis shows it: 10 µs, 1 ms, 10 s. */
const MICROSECONDS_LABEL = "datum.value >= 1e6 ? format(datum.value / 1e6, '~g') + ' s' : datum.value >= 1e3 ? format(datum.value / 1e3, '~g') + ' ms' : format(datum.value, '~g') + ' µs'";
/** Bandwidth in MiB/s as the axis shows it. */
const MIBPS_LABEL = "format(datum.value, ',~g') + ' MiB/s'";
/** Series colors in the order the series are defined: strong on white, told apart without red–green alone. */
const COLORS = ["#1f5fa8", "#4aa3df", "#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"];

interface Plot {
  title: string;
  /** What is timed, in a line under the title. */
  note: string;
  x: { title: string; values: number[] };
  y: { title: string; labels: string };
  series: Series[];
  points: Point[];
  /** Horizontal lines across the plot (a limit such as memcpy), with their labels. */
  rules?: { label: string; value: number }[];
  run: SavedRun;
}

/**
 * The log axis's ticks and grid: powers of ten from below the smallest
 * value to above the largest, with 2 and 5 between them when the values
 * span few of them.
 */
function logTicks(values: number[]): number[] {
  const from = Math.floor(Math.log10(Math.min(...values))), to = Math.ceil(Math.log10(Math.max(...values)));
  const steps = to - from <= 2 ? [1, 2, 5] : [1];
  const ticks = Array.from({ length: to - from }, (_, i) => steps.map((step) => step * 10 ** (from + i))).flat();
  return [...ticks, 10 ** to];
}

function spec(plot: Plot): TopLevelSpec {
  const sizes = plot.points.map((p) => p.bytes);
  const ys = [...plot.points.flatMap((p) => [p.min, p.max]), ...(plot.rules ?? []).map((r) => r.value)];
  const yTicks = logTicks(ys);
  const x = {
    field: "bytes", type: "quantitative", title: plot.x.title,
    scale: { type: "log", domain: [Math.min(...sizes), Math.max(...sizes)], nice: false, padding: 20 },
    axis: { values: plot.x.values, labelExpr: BYTES_LABEL },
  } as const;
  const y = {
    field: "value", type: "quantitative", title: plot.y.title,
    scale: { type: "log", domain: [yTicks[0], yTicks.at(-1)], nice: false },
    axis: { values: yTicks, labelExpr: plot.y.labels },
  } as const;
  // A series' color says how the data travels; dash and point shape say between which languages.
  const present = plot.series.map((s) => s.label).filter((label) => plot.points.some((p) => p.series === label));
  const color = { field: "series", type: "nominal", title: null, sort: present, scale: { domain: present, range: COLORS }, legend: { labelLimit: 400, orient: "bottom", direction: "vertical", columns: 2 } } as const;
  // The pair with the most points first: it gets the solid line.
  const count = (pair: string) => plot.points.filter((p) => p.pair === pair).length;
  const pairs = [...new Set(plot.points.map((p) => p.pair).filter((p) => p !== ""))].sort((a, b) => count(b) - count(a) || a.localeCompare(b));
  const pairLegend = { title: "from → to", labelLimit: 400, orient: "right" } as const;
  const pair = pairs.length > 0
    ? { strokeDash: { field: "pair", type: "nominal", scale: { domain: pairs }, legend: pairLegend }, shape: { field: "pair", type: "nominal", scale: { domain: pairs }, legend: pairLegend } }
    : {};
  const layers: object[] = [
    { mark: { type: "line", strokeWidth: 2, point: { size: 50, filled: true } }, encoding: { x, y, color, ...pair } },
    // The spread over the runs (min – max); a bar shorter than the point it crosses is hidden by it.
    { mark: { type: "rule", strokeWidth: 1.5 }, encoding: { x, y: { ...y, field: "min" }, y2: { field: "max" }, color } },
  ];
  if (plot.rules?.length) {
    layers.push(
      { data: { values: plot.rules }, mark: { type: "rule", strokeDash: [3, 3], strokeWidth: 1.5, color: "#444" }, encoding: { y: { field: "value", type: "quantitative" } } },
      { data: { values: plot.rules }, mark: { type: "text", align: "left", dx: 4, dy: -7, color: "#222" }, encoding: { x: { datum: Math.min(...sizes) }, y: { field: "value", type: "quantitative" }, text: { field: "label" } } },
    );
  }
  const runs = Math.max(...plot.run.results.map((r) => r.runs));
  const panels = plot.series.map((s) => s.panel).filter((panel, i, all) => panel !== undefined && all.indexOf(panel) === i && plot.points.some((p) => p.panel === panel));
  // Side-by-side panels share the y axis, so that their figures compare at a glance.
  const body = panels.length > 1
    ? { facet: { column: { field: "panel", type: "nominal", sort: panels, title: null, header: { labelFontSize: 12, labelFontWeight: "bold", labelColor: "#222" } } }, spec: { width: 360, height: 340, layer: layers }, resolve: { scale: { y: "shared" } } }
    : { width: 520, height: 340, layer: layers };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    background: "white",
    padding: 12,
    title: {
      text: plot.title,
      subtitle: [plot.note, `${plot.run.date}, ${plot.run.machine}: ${plot.run.command}`, `median of ${runs} run${runs === 1 ? "" : "s"}; vertical bars: min – max over the runs`],
      anchor: "start",
      subtitleColor: "#444",
      offset: 14,
    },
    config: { font: "DejaVu Sans, Helvetica, Arial, sans-serif", axis: { titleFontSize: 12, labelFontSize: 11, gridColor: "#dddddd", labelColor: "#222", titleColor: "#222" }, legend: { titleFontSize: 12, labelFontSize: 12 } },
    data: { values: plot.points },
    ...body,
  } as TopLevelSpec;
}

const batchSizes = [1024, 2 ** 20, 100 * 2 ** 20, 2 ** 30];

/** The plots of a run: file name → vega-lite spec (only the plots that have points). */
export function plotSpecs(run: SavedRun): Record<string, TopLevelSpec> {
  const memcpy = run.results.find((r) => r.case === "C memcpy 1 MiB");
  const plots: Record<string, Plot> = {
    "handoff.svg": {
      title: "Arrow batch hand-off between two processes",
      note: "until the receiving process holds the batch as a usable table, read one value of each column",
      x: { title: "batch size (bytes, log scale)", values: batchSizes },
      y: { title: "time until usable (log scale)", labels: MICROSECONDS_LABEL },
      series: HANDOFF,
      points: points(run.results, HANDOFF),
      run,
    },
    "reader-work.svg": {
      title: "The reader's own work per Arrow batch (one process)",
      note: "the batch already in shared memory; pyarrow decodes the same message",
      x: { title: "batch size (bytes, log scale)", values: batchSizes },
      y: { title: "per batch (log scale)", labels: MICROSECONDS_LABEL },
      series: READER,
      points: points(run.results, READER),
      run,
    },
    "one-way.svg": {
      title: "One-way throughput through a shmpipe channel",
      note: "one process sends records of one size, another reads them: payload bytes per second",
      x: { title: "record size (bytes, log scale)", values: [64, 1024, 16384, 262144, 1048576] },
      y: { title: "payload bandwidth (log scale)", labels: MIBPS_LABEL },
      series: ONE_WAY,
      points: points(run.results, ONE_WAY),
      rules: memcpy ? [{ label: `C memcpy 1 MiB (in cache): ${memcpy.value.toLocaleString("en-US")} MiB/s`, value: memcpy.value }] : [],
      run,
    },
  };
  return Object.fromEntries(Object.entries(plots).filter(([, plot]) => plot.points.length > 0).map(([file, plot]) => [file, spec(plot)]));
}

/** A vega-lite spec as an SVG document. */
export async function svg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Draws the plots of the run saved at `path` into SVG files beside it; returns their paths. */
export async function drawPlots(path: string): Promise<string[]> {
  let run: SavedRun;
  try {
    run = JSON.parse(readFileSync(path, "utf8")) as SavedRun;
  } catch (error) {
    throw new Error(`shmpipe bench: cannot read the results ${path}: ${(error as Error).message}`);
  }
  if (!Array.isArray(run.results)) throw new Error(`shmpipe bench: ${path} holds no "results" list (it is not a file that --json or --write saved)`);
  const written: string[] = [];
  for (const [file, spec] of Object.entries(plotSpecs(run))) {
    const out = join(dirname(path), file);
    writeFileSync(out, `${await svg(spec)}\n`);
    console.error(`wrote ${out}`);
    written.push(out);
  }
  if (written.length === 0) throw new Error(`shmpipe bench: ${path} has none of the cases the plots show (groups c, ts, ts-arrow, deno, go)`);
  return written;
}
