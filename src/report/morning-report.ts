import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BudgetForecast } from "../budget/forecast.js";
import { readForecast } from "../budget/forecast-read.js";
import { forecastLines } from "../budget/forecast-text.js";
import { type BudgetSnapshot, BudgetTracker } from "../budget/tracker.js";
import type { Clock } from "../clock.js";
import { isCalendarDay, systemClock, utcIsoNow, utcToday } from "../clock.js";
import type { ProducerConfig } from "../config/types.js";
import { UsageError } from "../errors.js";
import { type KillSwitchState, KillSwitchWatcher } from "../killswitch/kill-switch.js";
import type { Ledger } from "../ledger/ledger.js";
import type { Listed, ReportData, ReportTask } from "../ledger/report-queries.js";
import { isStale, loadPriceTable, tableAgeDays } from "../pricing/table.js";
import type { ReportWriter } from "./report-writer.js";

/** Everything a morning report is rendered from. */
export interface ReportInput {
  projectName: string;
  day: string;
  generatedAt: string;
  /** The machine that wrote the report, named when the ledger spans several. */
  host?: string;
  data: ReportData;
  budget: BudgetSnapshot;
  /** Where today's caps are heading; null in the report of a day that is over. */
  forecast: BudgetForecast | null;
  killSwitch: KillSwitchState | null;
  prices: { checked: string; ageDays: number; stale: boolean };
  audit: { headHash: string; rowCount: number };
}

/** Checks a `--date` value: a real calendar day written YYYY-MM-DD. */
export function parseReportDay(value: string): string {
  if (!isCalendarDay(value)) {
    throw new UsageError(`--date must be a calendar day written YYYY-MM-DD, got "${value}"`);
  }
  return value;
}

/** The instant after the last one of a UTC day: a report written from then on is final. */
function endOfDay(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`) + 86_400_000;
}

/**
 * When a rendered report says it was generated (its "Generated ..." line), or null when the
 * text has no such line. Read back to tell a day's final report from one written during it.
 */
export function reportGeneratedAt(text: string): string | null {
  return /^Generated (\d{4}-\d{2}-\d{2}T[\d:.]+Z)[ .]/m.exec(text)?.[1] ?? null;
}

/** Where the report of a UTC day goes. */
export function reportPath(config: Pick<ProducerConfig, "reportsDir">, day: string): string {
  return join(config.reportsDir, `morning-report-${day.replaceAll("-", "")}.md`);
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const cell = (text: string | null) =>
  (text ?? "").replaceAll("|", "\\|").replaceAll("\n", " ").slice(0, 300);

function more<T>(listed: Listed<T>): string {
  const rest = listed.count - listed.items.length;
  return rest > 0 ? `\n…and ${rest.toLocaleString("en-US")} more.\n` : "";
}

function taskTable(listed: Listed<ReportTask>, withError: boolean): string {
  const head = withError
    ? "| task | role | title | attempts | last error |\n| --- | --- | --- | --- | --- |"
    : "| task | role | title | cost |\n| --- | --- | --- | --- |";
  const rows = listed.items.map((t) =>
    withError
      ? `| \`${t.id}\` | ${t.role} | ${cell(t.title)} | ${t.attempts} | ${cell(t.lastError)} |`
      : `| \`${t.id}\` | ${t.role} | ${cell(t.title)} | ${usd(t.costUsd)} |`,
  );
  return `${head}\n${rows.join("\n")}\n${more(listed)}`;
}

/** The report as markdown. Pure: same input, same text. */
export function renderMorningReport(r: ReportInput): string {
  const out: string[] = [];
  const d = r.data;
  out.push(
    `# Morning report: ${r.projectName}, ${r.day} (UTC)`,
    "",
    `Generated ${r.generatedAt}${r.host ? ` on host ${r.host}` : ""}.`,
    "",
  );
  if (Date.parse(r.generatedAt) >= endOfDay(r.day)) {
    out.push("This is the day's final report: it was written after the day ended.", "");
  }
  if (r.killSwitch) {
    out.push(
      `> **Kill switch armed** by ${r.killSwitch.by}${r.killSwitch.host ? ` on host ${r.killSwitch.host}` : ""}${r.killSwitch.at ? ` at ${r.killSwitch.at}` : ""}: ${r.killSwitch.reason}. Nothing is being dispatched; \`producer resume\` releases it.`,
      "",
    );
  }
  if (r.prices.stale) {
    out.push(
      `> **Prices may be stale**: last checked ${r.prices.checked} (${r.prices.ageDays} days ago). Run \`producer pricing update\`.`,
      "",
    );
  }

  const shippedTotal = d.shippedByRole.reduce((n, x) => n + x.count, 0);
  out.push(`## Shipped (${shippedTotal.toLocaleString("en-US")})`, "");
  if (shippedTotal === 0) out.push("Nothing was finished on this day.", "");
  else {
    out.push("| role | tasks | cost |", "| --- | --- | --- |");
    for (const x of d.shippedByRole)
      out.push(`| ${x.role} | ${x.count.toLocaleString("en-US")} | ${usd(x.costUsd)} |`);
    out.push("", taskTable(d.shipped, false));
  }

  out.push(`## Escalations awaiting sign-off (${d.escalated.count})`, "");
  if (d.escalated.count === 0) out.push("None.", "");
  else {
    out.push(taskTable(d.escalated, true));
    out.push("Resolve each with one of:", "", "```sh");
    for (const t of d.escalated.items.slice(0, 10)) {
      out.push(
        `producer task requeue ${t.id}   # or: producer task reroute ${t.id} ROLE / producer task kill ${t.id}`,
      );
    }
    out.push(
      "```",
      "",
      "Each has a file with its attempts and errors in the escalations folder.",
      "",
    );
  }

  out.push(`## Hard failures (${d.failed.count})`, "");
  out.push(d.failed.count === 0 ? "None.\n" : taskTable(d.failed, true));

  out.push(
    "## Spend",
    "",
    "| role | spent | reserved | cap | |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const role of r.budget.roles) {
    const marker = role.capHit ? "[CAP HIT]" : role.softCapReached ? "(soft cap)" : "";
    out.push(
      `| ${role.role} | ${usd(role.spentUsd)} | ${usd(role.reservedUsd)} | ${usd(role.capUsd)} | ${marker} |`,
    );
  }
  const p = r.budget.project;
  out.push(
    `| **project** | **${usd(p.spentUsd)}** | ${usd(p.reservedUsd)} | ${usd(p.ceilingUsd)} | ${p.spentUsd >= p.ceilingUsd ? "[CAP HIT]" : ""} |`,
    "",
  );
  if (r.forecast) {
    out.push(
      `## Forecast (at ${r.forecast.at.slice(11, 16)} UTC)`,
      "",
      ...forecastLines(r.forecast).map((line) => `- ${line}`),
      "",
      `Basis: ${r.forecast.basis}.`,
      "",
    );
  }

  out.push(`## Assets registered (${d.assets.count})`, "");
  if (d.assets.count === 0) out.push("None.", "");
  else {
    out.push("| path | role | task | kind |", "| --- | --- | --- | --- |");
    for (const a of d.assets.items)
      out.push(`| ${cell(a.path)} | ${a.role} | \`${a.taskId ?? ""}\` | ${cell(a.kind)} |`);
    out.push(more(d.assets));
  }

  out.push("## Anomalies", "");
  const anomalies: string[] = [];
  if (r.killSwitch) anomalies.push(`- Kill switch armed now: ${r.killSwitch.reason}`);
  for (const e of d.killSwitch.items) {
    anomalies.push(
      `- ${e.ts} kill switch ${e.action === "killswitch.armed" ? `armed by ${e.actor}: ${e.reason ?? ""}` : `released by ${e.actor}`}`,
    );
  }
  if (d.recovered.count > 0) {
    anomalies.push(`- ${d.recovered.count} stuck in progress, recovered:`);
    for (const e of d.recovered.items)
      anomalies.push(`  - \`${e.entityId}\` at ${e.ts}: ${e.reason ?? ""}`);
  }
  for (const role of r.budget.roles.filter((x) => x.softCapReached && !x.capHit)) {
    anomalies.push(
      `- ${role.role} is near its cap: ${usd(role.spentUsd)} of ${usd(role.capUsd)} (soft cap)`,
    );
  }
  for (const role of r.budget.roles.filter((x) => x.capHit)) {
    anomalies.push(`- ${role.role} [CAP HIT]: ${role.capHitReason ?? "cap reached"}`);
  }
  if (r.prices.stale)
    anomalies.push(`- Prices last checked ${r.prices.checked}, ${r.prices.ageDays} days ago`);
  if (d.guardrailRefusals.count > 0) {
    anomalies.push(`- ${d.guardrailRefusals.count} task(s) refused by guardrails:`);
    for (const e of d.guardrailRefusals.items)
      anomalies.push(`  - ${e.ts} ${e.actor}: ${e.reason ?? ""}`);
  }
  if (d.deliveryFailures.count > 0) {
    anomalies.push(`- ${d.deliveryFailures.count} notification(s) not delivered:`);
    for (const f of d.deliveryFailures.items)
      anomalies.push(`  - ${f.at} "${f.title}": ${f.error ?? ""}`);
  }
  out.push(anomalies.length ? anomalies.join("\n") : "None.", "");

  out.push(
    "## Audit chain",
    "",
    `Head \`${r.audit.headHash}\` after ${r.audit.rowCount.toLocaleString("en-US")} rows. To prove later that the log was not rewritten since this report:`,
    "",
    "```sh",
    `producer audit verify --head ${r.audit.headHash}`,
    "```",
    "",
  );
  return out.join("\n");
}

/** Gathers, renders and writes the report of `day` (UTC); resolves to its path. */
export async function writeMorningReport(
  config: ProducerConfig,
  ledger: Ledger,
  options: { day?: string; clock?: Clock } = {},
): Promise<string> {
  const clock = options.clock ?? systemClock;
  const day = options.day ?? utcToday(clock);
  const since = `${day}T00:00:00.000Z`;
  const until = new Date(Date.parse(since) + 86_400_000).toISOString();
  const table = loadPriceTable({ overrideFile: config.pricing.overrideFile, clock });
  const [data, budget, audit, forecast] = await Promise.all([
    ledger.reportData({ since, until }),
    new BudgetTracker(ledger, config, { clock, warn: () => {} }).snapshot(day),
    ledger.auditHead(),
    // Only today's caps are still running; a past day's report states what was spent.
    day === utcToday(clock) ? readForecast(ledger, config, clock) : null,
  ]);
  const text = renderMorningReport({
    projectName: config.projectName,
    day,
    generatedAt: utcIsoNow(clock),
    ...(ledger.sharedByHosts && { host: ledger.host }),
    data,
    budget,
    forecast,
    killSwitch: await new KillSwitchWatcher(config.killSwitch, { ledger }).refresh(),
    prices: {
      checked: table.checked,
      ageDays: tableAgeDays(table, clock),
      stale: isStale(table, clock),
    },
    audit,
  });
  const file = reportPath(config, day);
  mkdirSync(config.reportsDir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
  return file;
}

/** The Producer's periodic report, through the small ReportWriter interface. */
export class MorningReportWriter implements ReportWriter {
  constructor(
    private readonly config: ProducerConfig,
    private readonly ledger: Ledger,
    private readonly clock: Clock = systemClock,
  ) {}

  write(day?: string): Promise<string> {
    return writeMorningReport(this.config, this.ledger, { day, clock: this.clock });
  }

  async isFinal(day: string): Promise<boolean> {
    let text: string;
    try {
      text = readFileSync(reportPath(this.config, day), "utf8");
    } catch {
      return false;
    }
    const generated = reportGeneratedAt(text);
    return generated !== null && Date.parse(generated) >= endOfDay(day);
  }
}
