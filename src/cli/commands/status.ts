import type { Command } from "commander";
import type { BudgetForecast } from "../../budget/forecast.js";
import { readForecast } from "../../budget/forecast-read.js";
import { forecastLines } from "../../budget/forecast-text.js";
import { type BudgetSnapshot, BudgetTracker } from "../../budget/tracker.js";
import type { ProducerConfig } from "../../config/types.js";
import { type KillSwitchState, KillSwitchWatcher } from "../../killswitch/kill-switch.js";
import type { AttentionItem } from "../../ledger/attention.js";
import type { Ledger } from "../../ledger/ledger.js";
import { TASK_STATUSES, type TaskStatus } from "../../ledger/types.js";
import { needsAttentionPath } from "../../notify/attention-file.js";
import { type ProducerLine, producerLines } from "../../producer/heartbeat.js";
import { missingPrompts, missingPromptsMessage } from "../../runtimes/prompt.js";
import { type Style, styleFor } from "../../text/style.js";
import { type CommandEnv, withProjectLedger } from "../context.js";
import { type Cell, renderTable, usd } from "../task/table.js";

/** One role's line of the queue: tasks per status, pending split by why it waits. */
export interface RoleQueue {
  role: string;
  /** Pending and claimable now. */
  ready: number;
  /** Pending, waiting for dependencies to be done. */
  waitingOnDependencies: number;
  /** Pending, waiting for a backoff or a not_before instant. */
  delayed: number;
  counts: Record<TaskStatus, number>;
}

/** A task being worked on right now. */
export interface RunningTask {
  id: string;
  role: string;
  title: string;
  claimedBy: string | null;
  startedAt: string | null;
  leaseExpiresAt: string | null;
  attempts: number;
}

/** Everything `producer status` reports; also its `--json` shape. */
export interface ProjectStatus {
  project: string;
  configPath: string;
  at: string;
  killSwitch: ({ armed: true } & KillSwitchState) | { armed: false };
  /** Nothing ready to claim and nothing running: the Producer has nothing to do. */
  idle: boolean;
  /** Open attention items (notifications that need a human): how many, and the newest. */
  attention: { file: string; open: number; newest: AttentionItem | null };
  /** Producers that beat in the last day: running, stale (died without a clean exit), stopped. */
  producers: ProducerLine[];
  escalations: { waiting: number; dir: string };
  /** Roles that cannot be dispatched: their standing prompt file is missing. */
  missingPrompts: { role: string; path: string }[];
  queue: { totals: Record<TaskStatus, number>; roles: RoleQueue[] };
  running: RunningTask[];
  budget: BudgetSnapshot;
  /** When each cap and the ceiling will be reached at today's burn rate, with its basis. */
  forecast: BudgetForecast;
}

const zeroCounts = (): Record<TaskStatus, number> =>
  Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;

/** Gathers the status from aggregate queries and the state files; nothing is changed. */
export async function projectStatus(
  ledger: Ledger,
  config: ProducerConfig,
): Promise<ProjectStatus> {
  const [counts, summary, running, escalated, budget, attention, producers, forecast] =
    await Promise.all([
      ledger.countByRoleAndStatus(),
      ledger.queueSummary(),
      ledger.listTasks({ status: "in_progress" }),
      ledger.countTasks({ status: "escalated" }),
      new BudgetTracker(ledger, config).snapshot(),
      ledger.attentionOverview(),
      producerLines(ledger, ledger.clock.now()),
      readForecast(ledger, config),
    ]);
  // Configured roles first, in file order, then any role that only the ledger still knows.
  const names = [...new Set([...Object.keys(config.agents), ...counts.map((c) => c.role)])];
  const roles = new Map<string, RoleQueue>(
    names.map((role) => [
      role,
      { role, ready: 0, waitingOnDependencies: 0, delayed: 0, counts: zeroCounts() },
    ]),
  );
  const totals = zeroCounts();
  for (const c of counts) {
    roles.get(c.role)!.counts[c.status] = c.count;
    totals[c.status] += c.count;
  }
  for (const s of summary) {
    const line = roles.get(s.role);
    if (!line) continue;
    line.ready = s.ready;
    line.waitingOnDependencies = s.waitingOnDependencies;
    line.delayed = s.delayed;
  }
  const kill = await new KillSwitchWatcher(config.killSwitch, { ledger }).refresh();
  const queue = [...roles.values()];
  return {
    project: config.projectName,
    configPath: config.configPath,
    at: new Date().toISOString(),
    killSwitch: kill ? { armed: true, ...kill } : { armed: false },
    idle: queue.every((r) => r.ready === 0) && running.length === 0,
    attention: { file: needsAttentionPath(config), ...attention },
    producers,
    escalations: { waiting: escalated, dir: config.escalationsDir },
    missingPrompts: missingPrompts(config),
    queue: { totals, roles: queue },
    running: running.map((t) => ({
      id: t.id,
      role: t.agentOwner,
      title: t.title,
      claimedBy: t.claimedBy,
      startedAt: t.startedAt,
      leaseExpiresAt: t.leaseExpiresAt,
      attempts: t.attempts,
    })),
    budget,
    forecast,
  };
}

/** The readable form of {@link ProjectStatus}. */
export function renderStatus(s: ProjectStatus, style: Style): string {
  const out: string[] = [style.bold(`${s.project}: status at ${s.at}`), ""];
  const facts: [string, string][] = [];
  facts.push([
    "kill switch",
    s.killSwitch.armed
      ? `${style.red(style.bold("ARMED"))}: ${s.killSwitch.reason} (by ${s.killSwitch.by}${s.killSwitch.at ? `, ${s.killSwitch.at}` : ""}; producer resume releases it)`
      : "off",
  ]);
  const waiting = s.queue.roles.reduce((n, r) => n + r.waitingOnDependencies, 0);
  const delayed = s.queue.roles.reduce((n, r) => n + r.delayed, 0);
  facts.push([
    "activity",
    !s.idle
      ? `${s.running.length} running, ${s.queue.roles.reduce((n, r) => n + r.ready, 0)} ready to claim`
      : waiting + delayed > 0
        ? `idle: nothing ready (${waiting} waiting on dependencies, ${delayed} delayed)`
        : "idle: nothing to do",
  ]);
  const newest = s.attention.newest;
  facts.push([
    "attention",
    newest
      ? `${style.yellow("needs a human")}: ${s.attention.open} open, newest ${newest.id} at ${newest.createdAt}: ${newest.title} (producer attention lists them)`
      : "nothing waiting",
  ]);
  facts.push([
    "escalations",
    s.escalations.waiting > 0
      ? `${style.red(String(s.escalations.waiting))} waiting (producer task list --status escalated)`
      : "none waiting",
  ]);
  const gated = s.queue.totals.awaiting_approval;
  facts.push([
    "approvals",
    gated > 0
      ? `${style.yellow(String(gated))} awaiting (producer task list --status awaiting_approval; producer task approve|deny ID)`
      : "none awaiting",
  ]);
  facts.push(["producers", producersFact(s.producers, style)]);
  const missing = missingPromptsMessage(s.missingPrompts);
  if (missing) facts.push(["prompts", style.red(missing)]);
  const width = Math.max(...facts.map(([k]) => k.length));
  out.push(...facts.map(([k, v]) => `${style.dim(k.padEnd(width))}  ${v}`));

  out.push("", style.bold("queue"));
  const counted = (n: number): Cell => (n === 0 ? { text: "0", paint: style.dim } : String(n));
  const queueRow = (
    role: string,
    q: Pick<RoleQueue, "ready" | "waitingOnDependencies" | "delayed">,
    c: Record<TaskStatus, number>,
  ): Cell[] => [
    role,
    counted(q.ready),
    counted(q.waitingOnDependencies),
    counted(q.delayed),
    counted(c.in_progress),
    counted(c.done),
    counted(c.failed),
    counted(c.escalated),
    counted(c.killed),
  ];
  const rows = s.queue.roles.map((r) => queueRow(r.role, r, r.counts));
  rows.push(
    queueRow(
      "total",
      {
        ready: s.queue.roles.reduce((n, r) => n + r.ready, 0),
        waitingOnDependencies: waiting,
        delayed,
      },
      s.queue.totals,
    ),
  );
  const right = (header: string) => ({ header, align: "right" as const });
  out.push(
    ...renderTable(
      [
        { header: "ROLE" },
        right("READY"),
        right("BLOCKED"),
        right("DELAYED"),
        right("RUNNING"),
        right("DONE"),
        right("FAILED"),
        right("ESCALATED"),
        right("KILLED"),
      ],
      rows,
      style,
    ).map((l) => `  ${l}`),
  );

  if (s.producers.length > 0) {
    out.push("", style.bold("producers (last day)"));
    const now = Date.parse(s.at);
    out.push(
      ...renderTable(
        [
          { header: "HOST" },
          { header: "PID", align: "right" as const },
          { header: "SINCE" },
          { header: "LAST BEAT" },
          { header: "STATE" },
        ],
        s.producers.map((p) => [
          p.host,
          String(p.pid),
          p.startedAt,
          `${p.lastBeatAt} (${ago(p.lastBeatAt, now)})`,
          stateCell(p, style),
        ]),
        style,
      ).map((l) => `  ${l}`),
    );
  }

  out.push("", style.bold("running now"));
  if (s.running.length === 0) out.push("  nothing");
  else {
    out.push(
      ...renderTable(
        [
          { header: "ID" },
          { header: "ROLE" },
          { header: "BY" },
          { header: "SINCE" },
          { header: "TITLE" },
        ],
        s.running.map((t) => [t.id, t.role, t.claimedBy ?? "", t.startedAt ?? "", t.title]),
        style,
      ).map((l) => `  ${l}`),
    );
  }

  out.push("", style.bold(`budget today (${s.budget.day}, UTC)`));
  const marker = (capHit: boolean, soft: boolean, why: string | null = null): Cell =>
    capHit
      ? { text: `[CAP HIT]${why ? ` ${why}` : ""}`, paint: style.red }
      : soft
        ? { text: "(soft cap)", paint: style.yellow }
        : "";
  const p = s.budget.project;
  out.push(
    ...renderTable(
      [{ header: "ROLE" }, right("SPENT"), right("RESERVED"), right("CAP"), { header: "" }],
      [
        ...s.budget.roles.map((r) => [
          r.role,
          usd(r.spentUsd),
          usd(r.reservedUsd),
          usd(r.capUsd),
          marker(r.capHit, r.softCapReached, r.capHitReason),
        ]),
        [
          "project",
          usd(p.spentUsd),
          usd(p.reservedUsd),
          usd(p.ceilingUsd),
          marker(p.spentUsd >= p.ceilingUsd, false),
        ],
      ],
      style,
    ).map((l) => `  ${l}`),
  );
  out.push("", style.bold(`forecast at ${s.forecast.at.slice(11, 16)} UTC`));
  out.push(...forecastLines(s.forecast).map((l) => `  ${l}`));
  out.push(`  ${style.dim(`(${s.forecast.basis})`)}`);
  return `${out.join("\n")}\n`;
}

/** "12s ago", "5m ago", "3h ago". */
function ago(iso: string, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes}m ago` : `${Math.round(minutes / 60)}h ago`;
}

function stateCell(p: ProducerLine, style: Style): Cell {
  if (p.state === "running")
    return { text: p.once ? "running (--once)" : "running", paint: style.green };
  if (p.state === "stale") return { text: "not beating: stale", paint: style.red };
  return { text: `stopped at ${p.stoppedAt}`, paint: style.dim };
}

/** One line on whether a Producer runs: the first thing to know when nothing moves. */
function producersFact(producers: readonly ProducerLine[], style: Style): string {
  const running = producers.filter((p) => p.state === "running");
  const stale = producers.filter((p) => p.state === "stale");
  const parts: string[] = [];
  if (running.length > 0) {
    parts.push(
      `${running.length} running (${running.map((p) => `${p.host} pid ${p.pid}`).join(", ")})`,
    );
  }
  if (stale.length > 0) {
    parts.push(
      style.red(
        `${stale.length} not beating (${stale.map((p) => `${p.host} pid ${p.pid}`).join(", ")}): stale`,
      ),
    );
  }
  if (parts.length > 0) return parts.join("; ");
  return producers.length > 0
    ? "none running (producer run starts one)"
    : "none has run in the last day (producer run starts one)";
}

/** `producer status [--json]`: the queue, what runs, the budget, the brake, what needs a human. */
export function registerStatus(program: Command, ctx: () => CommandEnv): void {
  program
    .command("status")
    .description("show the queue, what is running, today's budget, the kill switch and alerts")
    .option("--json", "print the status as one JSON object")
    .action(async (flags: { json?: boolean }) => {
      const env = ctx();
      const status = await withProjectLedger(env, (ledger, config) =>
        projectStatus(ledger, config),
      );
      env.stdout.write(
        flags.json
          ? `${JSON.stringify(status, null, 2)}\n`
          : renderStatus(status, styleFor(env.stdout, env.env)),
      );
    });
}
