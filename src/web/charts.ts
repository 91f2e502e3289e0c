import type { BudgetForecast } from "../budget/forecast.js";
import { readForecast } from "../budget/forecast-read.js";
import { clockText, rateText } from "../budget/forecast-text.js";
import { utcToday } from "../clock.js";
import type { DashboardDeps } from "./deps.js";
import { badRequest } from "./http-error.js";

/** Days of spend history in the spend chart. */
export const SPEND_DAYS = 14;

/** The time span of the queue-depth chart: 14 days by day, or 48 hours by hour. */
export type QueueRange = "14d" | "48h";

/** The charts' series. Times are Unix seconds (what uPlot plots), one per bucket start. */
export interface ChartData {
  spend: {
    days: string[];
    x: number[];
    roles: { role: string; usd: number[] }[];
    /** Today's projected project spend, drawn dashed; null when there is no rate to project. */
    projection: SpendProjection | null;
  };
  queue: {
    range: QueueRange;
    x: number[];
    created: number[];
    finished: number[];
    /** Open tasks (created, not finished) at each bucket's end. */
    depth: number[];
  };
}

/**
 * The project's spend from now on at today's burn rate: a line from what is spent or held
 * now to the ceiling (when it is reached today) or to midnight UTC (when it holds).
 */
export interface SpendProjection {
  /** Unix seconds: now, then when the ceiling is reached or the day ends. */
  x: [number, number];
  usd: [number, number];
  ceilingUsd: number;
  reachesCeiling: boolean;
  /** One sentence under the chart: the rate, its basis, and where the line ends. */
  caption: string;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Reads `?range=` of `/api/charts`. */
export function parseQueueRange(value: string | undefined): QueueRange {
  if (value === undefined || value === "" || value === "14d") return "14d";
  if (value === "48h") return "48h";
  throw badRequest(`range must be 14d or 48h, got "${value.slice(0, 20)}"`);
}

/**
 * Spend per role per day over the last {@link SPEND_DAYS} days and the queue's flow, with
 * every bucket present (zeros included) so the charts' x axes are regular.
 */
export async function chartData(deps: DashboardDeps, range: QueueRange): Promise<ChartData> {
  const today = utcToday(deps.clock);
  const todayMs = Date.parse(`${today}T00:00:00.000Z`);
  const dayStarts = Array.from(
    { length: SPEND_DAYS },
    (_, i) => todayMs - (SPEND_DAYS - 1 - i) * DAY_MS,
  );
  const days = dayStarts.map((ms) => new Date(ms).toISOString().slice(0, 10));

  const bucketMs = range === "14d" ? DAY_MS : HOUR_MS;
  const lastStart = range === "14d" ? todayMs : Math.floor(deps.clock.now() / HOUR_MS) * HOUR_MS;
  const count = range === "14d" ? SPEND_DAYS : 48;
  const starts = Array.from({ length: count }, (_, i) => lastStart - (count - 1 - i) * bucketMs);
  const keyOf = (ms: number) => new Date(ms).toISOString().slice(0, range === "14d" ? 10 : 13);

  const [spend, flow, forecast] = await Promise.all([
    deps.ledger.spendByDay(days[0]!, days[days.length - 1]!),
    deps.ledger.queueFlow({
      since: new Date(starts[0]!).toISOString(),
      until: new Date(lastStart + bucketMs).toISOString(),
      bucket: range === "14d" ? "day" : "hour",
    }),
    readForecast(deps.ledger, deps.config, deps.clock),
  ]);

  const roleNames = [...new Set([...Object.keys(deps.config.agents), ...spend.map((s) => s.role)])];
  const roles = roleNames.map((role) => ({
    role,
    usd: days.map((day) => spend.find((s) => s.day === day && s.role === role)?.spentUsd ?? 0),
  }));

  const byKey = new Map(flow.buckets.map((b) => [b.bucket, b]));
  const created = starts.map((ms) => byKey.get(keyOf(ms))?.created ?? 0);
  const finished = starts.map((ms) => byKey.get(keyOf(ms))?.finished ?? 0);
  let open = flow.openBefore;
  const depth = starts.map((_, i) => {
    open = Math.max(0, open + created[i]! - finished[i]!);
    return open;
  });

  return {
    spend: { days, x: dayStarts.map((ms) => ms / 1000), roles, projection: projection(forecast) },
    queue: { range, x: starts.map((ms) => ms / 1000), created, finished, depth },
  };
}

/** The dashed line of the spend chart, from the project's forecast. */
export function projection(forecast: BudgetForecast): SpendProjection | null {
  const p = forecast.project;
  if (p.state === "reached" || p.rateUsdPerHour <= 0) return null;
  const nowMs = Date.parse(forecast.at);
  const now = p.spentUsd + p.heldUsd;
  const reaches = p.state === "hits";
  const endMs = reaches ? Date.parse(p.hitsAt!) : Date.parse(forecast.dayEndsAt);
  const end = reaches ? p.capUsd : now + (p.rateUsdPerHour * (endMs - nowMs)) / 3_600_000;
  const rate = rateText(p);
  return {
    x: [nowMs / 1000, endMs / 1000],
    usd: [now, end],
    ceilingUsd: p.capUsd,
    reachesCeiling: reaches,
    caption: reaches
      ? `Dashed: at ${rate} the project reaches its $${p.capUsd.toFixed(2)} ceiling at ${clockText(p.hitsAt!)}.`
      : `Dashed: at ${rate} the project ends the day near $${end.toFixed(2)}; its $${p.capUsd.toFixed(2)} ceiling holds today.`,
  };
}
