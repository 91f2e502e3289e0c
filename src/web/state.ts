import type { BudgetForecast } from "../budget/forecast.js";
import { readForecast } from "../budget/forecast-read.js";
import { forecastLines } from "../budget/forecast-text.js";
import type { BudgetSnapshot } from "../budget/tracker.js";
import { utcToday } from "../clock.js";
import type { KillSwitchState } from "../killswitch/kill-switch.js";
import type { AttentionItem } from "../ledger/attention.js";
import type { NotificationRecord } from "../ledger/notifications.js";
import { type AuditRow, TASK_STATUSES, type Task, type TaskStatus } from "../ledger/types.js";
import { needsAttentionPath } from "../notify/attention-file.js";
import { type ProducerLine, producerLines } from "../producer/heartbeat.js";
import type { DashboardDeps } from "./deps.js";
import { badRequest } from "./http-error.js";

/** Tasks per page of the dashboard's list; also the most `/api/state` ever returns. */
export const PAGE_SIZE = 50;
/** Audit rows in the live feed. */
export const AUDIT_FEED_SIZE = 30;
/** Notifications in the ntfy panel. */
export const NOTIFICATION_FEED_SIZE = 20;
/** Open attention items in the banner; "mark as read" resolves exactly these. */
export const ATTENTION_FEED_SIZE = 10;
/** Tasks awaiting approval listed on the page; the tile counts them all. */
export const APPROVAL_LIST_SIZE = 20;

/** What needs a human: the newest open attention items, and how many are open in all. */
export interface AttentionBanner {
  open: number;
  items: AttentionItem[];
  /** needs-attention.md, which lists the same open items. */
  path: string;
}

/** running: something is in progress; idle: nothing is; halted: the kill switch is armed. */
export type ProjectStatus = "running" | "idle" | "halted";

/** One line of the task list: enough to scan, not the whole task. */
export interface TaskLine {
  id: string;
  title: string;
  role: string;
  status: TaskStatus;
  priority: number;
  attempts: number;
  costUsd: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  lastError: string | null;
}

/** Which page of which tasks the list shows. */
export interface TaskQuery {
  status?: TaskStatus;
  role?: string;
  text?: string;
  offset: number;
}

/**
 * Everything the page shows, refreshed every two seconds. Its size is bounded whatever the
 * ledger holds: counts come from aggregates, lists are short.
 */
export interface DashboardState {
  project: { name: string; root: string; day: string; now: string; roles: string[] };
  status: ProjectStatus;
  killSwitch: KillSwitchState | null;
  /** Null when nothing is open. */
  attention: AttentionBanner | null;
  /** Producers that beat in the last day, with whether each still runs. */
  producers: ProducerLine[];
  /** Time of the newest audit row: when anything last happened. */
  lastActivityAt: string | null;
  queue: {
    /** Tasks per status, all roles. */
    byStatus: Record<TaskStatus, number>;
    /** Tasks per role and status (zeros left out). */
    byRole: { role: string; counts: Partial<Record<TaskStatus, number>>; total: number }[];
    ready: number;
    waitingOnDependencies: number;
    delayed: number;
    running: number;
    total: number;
  };
  tasks: { items: TaskLine[]; total: number; offset: number; limit: number; query: TaskQuery };
  /** The newest {@link APPROVAL_LIST_SIZE} tasks awaiting a human's approval, oldest first. */
  approvals: TaskLine[];
  audit: AuditRow[];
  budget: BudgetSnapshot;
  /** When each cap and the ceiling is reached at today's burn rate; `lines` as the CLI words them. */
  forecast: BudgetForecast & { lines: string[] };
  /** Present only when `notifications.ntfy_topic` is set. */
  ntfy: { topic: string; server: string; items: NotificationRecord[] } | null;
}

/** Reads the task-list query from `/api/state`'s search parameters, refusing nonsense. */
export function parseTaskQuery(
  params: Record<string, string | undefined>,
  roles: readonly string[],
): TaskQuery {
  const query: TaskQuery = { offset: 0 };
  const status = params.status?.trim();
  if (status) {
    if (!(TASK_STATUSES as readonly string[]).includes(status)) {
      throw badRequest(
        `status must be one of ${TASK_STATUSES.join(", ")}, got "${status.slice(0, 40)}"`,
      );
    }
    query.status = status as TaskStatus;
  }
  const role = params.role?.trim();
  if (role) {
    if (!roles.includes(role)) {
      throw badRequest(`role must be one of ${roles.join(", ")}, got "${role.slice(0, 40)}"`);
    }
    query.role = role;
  }
  const text = params.q?.trim();
  if (text) {
    if (text.length > 200) throw badRequest("search text is limited to 200 characters");
    query.text = text;
  }
  if (params.offset !== undefined && params.offset !== "") {
    const offset = Number(params.offset);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw badRequest(`offset must be a whole number >= 0, got "${params.offset.slice(0, 20)}"`);
    }
    query.offset = offset;
  }
  return query;
}

/**
 * Assembles the page's state from aggregate ledger reads and short lists only, so it stays
 * quick on a ledger of any size.
 */
export async function dashboardState(
  deps: DashboardDeps,
  query: TaskQuery,
): Promise<DashboardState> {
  const { config, ledger } = deps;
  const filter = { status: query.status, role: query.role, text: query.text };
  const day = utcToday(deps.clock);
  const [
    counts,
    summary,
    items,
    total,
    audit,
    budget,
    notifications,
    attention,
    producers,
    forecast,
    approvals,
  ] = await Promise.all([
    ledger.countByRoleAndStatus(),
    ledger.queueSummary(),
    ledger.listTasks({ ...filter, limit: PAGE_SIZE, offset: query.offset }),
    ledger.countTasks(filter),
    ledger.recentAudit(AUDIT_FEED_SIZE),
    deps.budget.snapshot(day),
    config.notifications.ntfyTopic
      ? ledger.listNotifications({ limit: NOTIFICATION_FEED_SIZE })
      : Promise.resolve(null),
    attentionBanner(deps),
    producerLines(ledger, deps.clock.now()),
    readForecast(ledger, config, deps.clock),
    ledger.listTasks({ status: "awaiting_approval", limit: APPROVAL_LIST_SIZE }),
  ]);
  const killSwitch = await deps.killSwitch.refresh();
  const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<
    TaskStatus,
    number
  >;
  const roleNames = [...new Set([...Object.keys(config.agents), ...counts.map((c) => c.role)])];
  const byRole = roleNames.map((role) => ({
    role,
    counts: {} as Partial<Record<TaskStatus, number>>,
    total: 0,
  }));
  for (const c of counts) {
    byStatus[c.status] += c.count;
    const row = byRole.find((r) => r.role === c.role)!;
    row.counts[c.status] = c.count;
    row.total += c.count;
  }
  const sum = (key: "ready" | "waitingOnDependencies" | "delayed" | "running") =>
    summary.reduce((n, r) => n + (r[key] ?? 0), 0);
  const running = sum("running");
  return {
    project: {
      name: config.projectName,
      root: config.projectRoot,
      day,
      now: new Date(deps.clock.now()).toISOString(),
      roles: Object.keys(config.agents),
    },
    status: killSwitch ? "halted" : running > 0 ? "running" : "idle",
    killSwitch,
    attention,
    producers,
    lastActivityAt: audit[0]?.ts ?? null,
    queue: {
      byStatus,
      byRole,
      ready: sum("ready"),
      waitingOnDependencies: sum("waitingOnDependencies"),
      delayed: sum("delayed"),
      running,
      total: Object.values(byStatus).reduce((n, x) => n + x, 0),
    },
    tasks: { items: items.map(taskLine), total, offset: query.offset, limit: PAGE_SIZE, query },
    // listTasks gives newest first; a human works through the oldest first.
    approvals: approvals.map(taskLine).reverse(),
    audit,
    budget,
    forecast: { ...forecast, lines: forecastLines(forecast) },
    ntfy: notifications
      ? {
          topic: config.notifications.ntfyTopic,
          server: config.notifications.ntfyServer,
          items: notifications,
        }
      : null,
  };
}

async function attentionBanner(deps: DashboardDeps): Promise<AttentionBanner | null> {
  const [overview, items] = await Promise.all([
    deps.ledger.attentionOverview(),
    deps.ledger.listAttention({ limit: ATTENTION_FEED_SIZE }),
  ]);
  if (items.length === 0) return null;
  return { open: overview.open, items, path: needsAttentionPath(deps.config) };
}

/** The list's view of a task; long errors are cut, the detail panel has them whole. */
export function taskLine(t: Task): TaskLine {
  return {
    id: t.id,
    title: t.title,
    role: t.agentOwner,
    status: t.status,
    priority: t.priority,
    attempts: t.attempts,
    costUsd: t.costUsd,
    createdBy: t.createdBy,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    lastError: t.lastError === null ? null : t.lastError.slice(0, 300),
  };
}
