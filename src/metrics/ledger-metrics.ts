import { Counter, Gauge, type Registry } from "prom-client";
import { type Clock, utcToday } from "../clock.js";
import type { ProducerConfig } from "../config/types.js";
import type { KillSwitchState } from "../killswitch/kill-switch.js";
import type { Ledger } from "../ledger/ledger.js";
import { TASK_STATUSES, type TaskStatus } from "../ledger/types.js";
import { producerLines } from "../producer/heartbeat.js";
import { oncePerScrape } from "./registry.js";

/** What the ledger-backed metrics read at each scrape. */
export interface LedgerMetricsSource {
  config: ProducerConfig;
  ledger: Pick<Ledger, "countByRoleAndStatus" | "budgetForDay" | "spendByDay" | "listProducers">;
  /** Where "today" comes from for the day's spend and holds. */
  clock: Clock;
  /** The brake as this process sees it (the file, and the shared ledger's for PostgreSQL). */
  killSwitch: { refresh(): Promise<KillSwitchState | null> };
}

/** Everything read from the ledger for one scrape. */
interface Snapshot {
  tasks: { role: string; status: TaskStatus; count: number }[];
  today: { role: string; spentUsd: number; reservedUsd: number }[];
  spentEver: Map<string, number>;
  killArmed: boolean;
  producersRunning: number;
}

// Budget days are `YYYY-MM-DD`: these two bound every day the ledger can hold.
const FIRST_DAY = "0000-01-01";
const LAST_DAY = "9999-12-31";

/**
 * Registers the metrics every process can answer alike, because they are read from the
 * ledger when scraped: `producer metrics`, `producer ui` and `producer run --metrics-port`
 * print the same numbers for the same ledger. Every read is an indexed one (the status index
 * for task counts, the budget table's key for spend, the held-reservations index for holds).
 */
export function registerLedgerMetrics(registry: Registry, source: LedgerMetricsSource): void {
  const { config, ledger, clock } = source;
  const roles = Object.keys(config.agents);
  const read = oncePerScrape(async (): Promise<Snapshot> => {
    const [tasks, today, spend, producers, brake] = await Promise.all([
      ledger.countByRoleAndStatus(),
      ledger.budgetForDay(utcToday(clock)),
      ledger.spendByDay(FIRST_DAY, LAST_DAY),
      producerLines(ledger, clock.now()),
      source.killSwitch.refresh(),
    ]);
    const spentEver = new Map<string, number>();
    for (const row of spend) spentEver.set(row.role, (spentEver.get(row.role) ?? 0) + row.spentUsd);
    return {
      tasks,
      today,
      spentEver,
      killArmed: brake !== null,
      producersRunning: producers.filter((p) => p.state === "running").length,
    };
  });
  // Roles in the config are always listed (at 0), so a series does not appear only once the
  // role first spends; roles only the ledger still knows are listed as it has them.
  const withRoles = <T extends { role: string }>(rows: readonly T[]): Set<string> =>
    new Set([...roles, ...rows.map((r) => r.role)]);

  new Gauge({
    name: "ai_producer_tasks",
    help: "Tasks in the ledger by role and status (from the ledger at scrape time).",
    labelNames: ["role", "status"] as const,
    registers: [registry],
    async collect() {
      const { tasks } = await read();
      this.reset();
      for (const role of withRoles(tasks)) {
        for (const status of TASK_STATUSES) this.set({ role, status }, 0);
      }
      for (const row of tasks) this.set({ role: row.role, status: row.status }, row.count);
    },
  });
  new Gauge({
    name: "ai_producer_spend_today_usd",
    help: "Spend settled today (UTC day) by role, in US dollars (from the ledger at scrape time).",
    labelNames: ["role"] as const,
    registers: [registry],
    async collect() {
      const { today } = await read();
      this.reset();
      const spent = new Map(today.map((r) => [r.role, r.spentUsd]));
      for (const role of withRoles(today)) this.set({ role }, spent.get(role) ?? 0);
    },
  });
  new Gauge({
    name: "ai_producer_held_today_usd",
    help: "Money held today (UTC day) by role for calls in flight, in US dollars (from the ledger at scrape time).",
    labelNames: ["role"] as const,
    registers: [registry],
    async collect() {
      const { today } = await read();
      this.reset();
      const held = new Map(today.map((r) => [r.role, r.reservedUsd]));
      for (const role of withRoles(today)) this.set({ role }, held.get(role) ?? 0);
    },
  });
  new Counter({
    name: "ai_producer_spend_usd_total",
    help: "Spend settled over the ledger's whole life by role, in US dollars (from the ledger at scrape time: every process reports the same total).",
    labelNames: ["role"] as const,
    registers: [registry],
    async collect() {
      const { spentEver } = await read();
      this.reset();
      for (const role of new Set([...roles, ...spentEver.keys()])) {
        this.inc({ role }, spentEver.get(role) ?? 0);
      }
    },
  });
  const caps = new Gauge({
    name: "ai_producer_role_cap_usd",
    help: "Daily spending cap by role, in US dollars (agents.<role>.daily_cap_usd in producer.yaml).",
    labelNames: ["role"] as const,
    registers: [registry],
  });
  for (const [role, agent] of Object.entries(config.agents)) caps.set({ role }, agent.dailyCapUsd);
  new Gauge({
    name: "ai_producer_project_ceiling_usd",
    help: "Daily spending ceiling of the whole project, in US dollars (budget.project_ceiling_usd in producer.yaml).",
    registers: [registry],
  }).set(config.budget.projectCeilingUsd);
  new Gauge({
    name: "ai_producer_kill_switch_armed",
    help: "1 while the kill switch is pulled (its file exists, or the shared ledger says so), else 0.",
    registers: [registry],
    async collect() {
      this.set((await read()).killArmed ? 1 : 0);
    },
  });
  new Gauge({
    name: "ai_producer_producers_running",
    help: "Producers whose heartbeat in the ledger is fresh (a beat within three poll intervals, no clean exit).",
    registers: [registry],
    async collect() {
      this.set((await read()).producersRunning);
    },
  });
}
