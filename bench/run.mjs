#!/usr/bin/env node
// The benchmark runner (not part of `npm test`): `node bench/run.mjs [name ...]` runs the named
// benchmarks (default: all), prints a table (median, min, max of several runs after a
// warm-up, the target and whether it is met) and merges the figures into bench/results.json.
// Run `npm run build` first (or `npm run bench`): benchmarks use the built library in dist/.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { busyBetween, cpuSnapshot } from "./lib/cpu.mjs";
import { machineInfo } from "./lib/machine.mjs";
import { settings } from "./lib/settings.mjs";
import { max, median, min } from "./lib/stats.mjs";
import { fmt, renderTable } from "./lib/table.mjs";
import { cleanupAll, installCleanup } from "./lib/temp.mjs";

const ORDER = [
  "disk",
  "lifecycle",
  "batch",
  "contention",
  "wakeup",
  "dispatch",
  "cli",
  "reads",
  "postgres",
];
const here = import.meta.dirname;
const resultsFile = join(here, "results.json");

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(
    `usage: node bench/run.mjs [${ORDER.join(" | ")} ...]\n` +
      "Env: BENCH_QUICK=1 for a smoke run; counts: " +
      `${Object.keys(settings)
        .filter((k) => k.startsWith("BENCH_"))
        .join(", ")}\n`,
  );
  process.exit(0);
}
const unknown = args.filter((a) => !ORDER.includes(a));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(", ")}; known: ${ORDER.join(", ")}\n`);
  process.exit(2);
}
if (!existsSync(join(here, "..", "dist", "index.js"))) {
  process.stderr.write("dist/ is missing: run `npm run build` first (or `npm run bench`)\n");
  process.exit(2);
}
const selected = args.length ? ORDER.filter((n) => args.includes(n)) : ORDER;

installCleanup();
const log = (line) => process.stderr.write(`${line}\n`);
const machine = machineInfo();
log(`ai-producer bench: ${selected.join(", ")}${settings.quick ? " (BENCH_QUICK)" : ""}`);
log(
  `${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, sqlite ${machine.sqlite}, tmp ${machine.tmpdir} (${machine.tmpFilesystem?.type ?? "?"})`,
);

function evaluate(figure) {
  const runs = figure.runs ?? [];
  const summary = figure.status
    ? { median: null, min: null, max: null }
    : { median: median(runs), min: min(runs), max: max(runs) };
  let met = null;
  if (figure.target && !figure.status && Number.isFinite(summary.median)) {
    met =
      figure.target.op === ">="
        ? summary.median >= figure.target.value
        : summary.median <= figure.target.value;
  }
  return { ...figure, ...summary, met };
}

const results = {};
const started = Date.now();
for (const name of selected) {
  const mod = await import(`./cases/${name}.mjs`);
  log(`\n== ${name}: ${mod.title}`);
  const t0 = Date.now();
  const cpu0 = cpuSnapshot();
  // Other work on the machine skews every figure: keep how busy it was next to them.
  const load = () => ({
    machineCpuBusy: busyBetween(cpu0, cpuSnapshot()),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  });
  try {
    const out = await mod.run({ settings, log });
    results[name] = {
      title: mod.title,
      measuredAt: new Date().toISOString(),
      quick: settings.quick,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      figures: out.figures.map(evaluate),
      details: out.details ?? {},
      notes: out.notes ?? [],
      ...load(),
    };
  } catch (error) {
    log(`  FAILED: ${error?.stack ?? error}`);
    process.exitCode = 1;
    results[name] = {
      title: mod.title,
      measuredAt: new Date().toISOString(),
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      error: String(error?.message ?? error),
      figures: [],
      ...load(),
    };
  }
  const busy = results[name].machineCpuBusy;
  log(
    `  (${results[name].seconds} s; machine CPU ${busy === null ? "?" : `${Math.round(busy * 100)}%`} busy, load ${results[name].loadAverage.join(" ")})`,
  );
}
cleanupAll();

const rows = [];
for (const [name, result] of Object.entries(results)) {
  if (result.error) rows.push([name, `ERROR: ${result.error}`, "", "", "", "", "", ""]);
  for (const f of result.figures) {
    rows.push([
      name,
      f.label,
      f.status ?? fmt(f.median, f.unit),
      f.status ? "" : fmt(f.min, f.unit),
      f.status ? "" : fmt(f.max, f.unit),
      f.unit,
      f.target?.text ?? "",
      f.met === null ? (f.target ? "n/a" : "") : f.met ? "yes" : "NO",
    ]);
  }
}
process.stdout.write(
  `\n${renderTable(["bench", "figure", "median", "min", "max", "unit", "target", "met?"], rows)}\n`,
);
const missed = Object.entries(results).flatMap(([name, r]) =>
  r.figures
    .filter((f) => f.met === false)
    .map(
      (f) => `${name}: ${f.label} = ${fmt(f.median, f.unit)} ${f.unit} (target ${f.target.text})`,
    ),
);
const pending = Object.entries(results).flatMap(([name, r]) =>
  r.figures
    .filter((f) => f.status)
    .map((f) => `${name}: ${f.label}: ${f.status}${f.note ? ` (${f.note})` : ""}`),
);
const notes = Object.entries(results).flatMap(([name, r]) =>
  (r.notes ?? []).map((n) => `${name}: ${n}`),
);
if (missed.length)
  process.stdout.write(`\nTargets missed:\n${missed.map((m) => `  - ${m}`).join("\n")}\n`);
if (pending.length)
  process.stdout.write(`\nNot measured:\n${pending.map((m) => `  - ${m}`).join("\n")}\n`);
if (notes.length) process.stdout.write(`\nNotes:\n${notes.map((m) => `  - ${m}`).join("\n")}\n`);
process.stdout.write(
  `\n(total ${Math.round((Date.now() - started) / 1000)} s; figures merged into bench/results.json)\n`,
);

// Merge: a partial run replaces only the benchmarks it ran; each keeps its own measuredAt.
let previous = {};
try {
  previous = JSON.parse(readFileSync(resultsFile, "utf8"));
} catch {
  previous = {};
}
const merged = {
  description:
    "ai-producer benchmarks (bench/run.mjs). Each figure: median, min and max over runs after a warm-up; ratios compare with a peer measured in the same benchmark run. Not part of npm test.",
  lastRun: {
    date: new Date().toISOString(),
    selected,
    quick: settings.quick,
    seconds: Math.round((Date.now() - started) / 1000),
  },
  machine,
  settings,
  benchmarks: { ...(previous.benchmarks ?? {}), ...results },
};
merged.closingNote = {
  missedTargets: Object.entries(merged.benchmarks).flatMap(([name, r]) =>
    (r.figures ?? []).filter((f) => f.met === false).map((f) => `${name}: ${f.label}`),
  ),
  notMeasured: Object.entries(merged.benchmarks).flatMap(([name, r]) =>
    (r.figures ?? []).filter((f) => f.status).map((f) => `${name}: ${f.label}: ${f.status}`),
  ),
  notes: Object.entries(merged.benchmarks).flatMap(([name, r]) =>
    (r.notes ?? []).map((n) => `${name}: ${n}`),
  ),
};
// Five significant digits are plenty for timings that vary by more than that run to run.
const round = (_key, value) =>
  typeof value === "number" && !Number.isInteger(value) ? Number(value.toPrecision(5)) : value;
writeFileSync(resultsFile, `${JSON.stringify(merged, round, 2)}\n`);
// The repository's formatter (biome, run by `npm test`) checks this file too: let it lay it out.
const biome = join(here, "..", "node_modules", ".bin", "biome");
if (existsSync(biome)) {
  spawnSync(biome, ["format", "--write", resultsFile], { stdio: "ignore" });
}
