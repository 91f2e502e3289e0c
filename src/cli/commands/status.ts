import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { type BudgetSnapshot, BudgetTracker } from "../../budget/tracker.js";
import type { ProducerConfig } from "../../config/types.js";
import { type KillSwitchState, KillSwitchWatcher } from "../../killswitch/kill-switch.js";
import type { Ledger } from "../../ledger/ledger.js";
import { TASK_STATUSES, type TaskStatus } from "../../ledger/types.js";
import { needsAttentionPath } from "../../notify/notifier.js";
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
  attention: { file: string; exists: boolean; lastHeading: string | null };
  escalations: { waiting: number; dir: string };
  /** Roles that cannot be dispatched: their standing prompt file is missing. */
  missingPrompts: { role: string; path: string }[];
  queue: { totals: Record<TaskStatus, number>; roles: RoleQueue[] };
  running: RunningTask[];
  budget: BudgetSnapshot;
}

const zeroCounts = (): Record<TaskStatus, number> =>
  Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;

/** The last `## ` heading of needs-attention.md (the newest note), or its title. */
function lastHeading(text: string): string | null {
  const lines = text.split("\n");
  const heading =
    lines.findLast((l) => l.startsWith("## ")) ?? lines.find((l) => l.startsWith("# "));
  return heading ? heading.replace(/^#+\s*/, "").trim() : null;
}

function readAttention(config: ProducerConfig): ProjectStatus["attention"] {
  const file = needsAttentionPath(config);
  try {
    return { file, exists: true, lastHeading: lastHeading(readFileSync(file, "utf8")) };
  } catch {
    return { file, exists: false, lastHeading: null };
  }
}

/** Gathers the status from aggregate queries and the state files; nothing is changed. */
export async function projectStatus(
  ledger: Ledger,
  config: ProducerConfig,
): Promise<ProjectStatus> {
  const [counts, summary, running, escalated, budget] = await Promise.all([
    ledger.countByRoleAndStatus(),
    ledger.queueSummary(),
    ledger.listTasks({ status: "in_progress" }),
    ledger.countTasks({ status: "escalated" }),
    new BudgetTracker(ledger, config).snapshot(),
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
    attention: readAttention(config),
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
  facts.push([
    "attention",
    s.attention.exists
      ? `${style.yellow("needs a human")}: ${s.attention.lastHeading ?? "(no notes)"} (${s.attention.file})`
      : "nothing waiting",
  ]);
  facts.push([
    "escalations",
    s.escalations.waiting > 0
      ? `${style.red(String(s.escalations.waiting))} waiting (producer task list --status escalated)`
      : "none waiting",
  ]);
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
  return `${out.join("\n")}\n`;
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
