/**
 * The burn-rate forecast: when, at the pace money is going today, each role's daily cap and
 * the project ceiling will be reached. Pure arithmetic over what the ledger reports (see
 * `Ledger.spendPace`), so a test can check it against a hand computation.
 */

import { EPSILON } from "../ledger/rules/allowance.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The span the short rate is measured over. */
export const RECENT_WINDOW_MS = HOUR_MS;

/** Which of the two rates a projection uses. */
export type RateBasis = "last_hour" | "today";

/** Where a cap stands: already reached, reached later today at this pace, or not today. */
export type ForecastState = "reached" | "hits" | "holds";

/** The money a cap is measured against, for one role or the whole project. */
export interface PaceInput {
  spentUsd: number;
  /** Settled since the short window's start. */
  recentUsd: number;
  heldUsd: number;
}

/** One cap's projection. */
export interface CapForecast {
  capUsd: number;
  spentUsd: number;
  heldUsd: number;
  /** Recent spend over the short window (the last hour, or since midnight when shorter). */
  lastHourUsdPerHour: number;
  /** The day's settled spend over the time since UTC midnight. */
  todayUsdPerHour: number;
  /** The rate the projection uses: the higher of the two. */
  rateUsdPerHour: number;
  basis: RateBasis;
  state: ForecastState;
  /** When the cap is reached at that rate (ISO, UTC); null when it holds today. */
  hitsAt: string | null;
  /** Minutes from now to {@link hitsAt}; 0 once reached; null when it holds. */
  minutesLeft: number | null;
}

/** Everything `producer status`, the report, the page and the push show. */
export interface BudgetForecast {
  /** The instant the forecast was made. */
  at: string;
  /** The UTC day forecast; it ends at {@link dayEndsAt}. */
  day: string;
  dayEndsAt: string;
  /** Start of the short window (an hour ago, or midnight UTC when that is later). */
  recentSince: string;
  /** How the rate is chosen, in words, for every reader of the forecast. */
  basis: string;
  roles: ({ role: string } & CapForecast)[];
  project: CapForecast;
}

/** What the forecast is computed from. */
export interface ForecastInput {
  nowMs: number;
  roles: readonly { role: string; capUsd: number }[];
  ceilingUsd: number;
  /** Per role, as the ledger reports it; roles missing here spent nothing. */
  pace: readonly ({ role: string } & PaceInput)[];
}

/** Why the higher rate: stated wherever the forecast is shown. */
export const BASIS_NOTE =
  "money held by calls in flight counts as spent; each projection uses the higher of the last hour's rate and the rate since 00:00 UTC, so a burst is not averaged away and a quiet hour does not hide a busy day";

/** The start of the short window for a forecast made at `nowMs`. */
export function recentSince(nowMs: number): number {
  return Math.max(dayStart(nowMs), nowMs - RECENT_WINDOW_MS);
}

function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Projects one cap from the money measured against it. */
export function projectCap(money: PaceInput, capUsd: number, nowMs: number): CapForecast {
  const start = dayStart(nowMs);
  const end = start + DAY_MS;
  const since = recentSince(nowMs);
  // Right at midnight both spans are empty; nothing has been spent at a measurable pace.
  const perHour = (usd: number, fromMs: number) =>
    nowMs > fromMs ? usd / ((nowMs - fromMs) / HOUR_MS) : 0;
  const lastHour = perHour(money.recentUsd, since);
  const today = perHour(money.spentUsd, start);
  const basis: RateBasis = lastHour >= today ? "last_hour" : "today";
  const rate = Math.max(lastHour, today);
  const left = capUsd - money.spentUsd - money.heldUsd;
  let state: ForecastState;
  let minutes: number | null;
  // Float sums of cents drift in the 1e-15s: a cap is not "not yet reached" by noise.
  if (left <= EPSILON) {
    state = "reached";
    minutes = 0;
  } else if (rate > 0 && nowMs + (left / rate) * HOUR_MS < end) {
    state = "hits";
    minutes = (left / rate) * 60;
  } else {
    state = "holds";
    minutes = null;
  }
  return {
    capUsd,
    spentUsd: money.spentUsd,
    heldUsd: money.heldUsd,
    lastHourUsdPerHour: lastHour,
    todayUsdPerHour: today,
    rateUsdPerHour: rate,
    basis,
    state,
    hitsAt: minutes === null ? null : new Date(Math.round(nowMs + minutes * 60_000)).toISOString(),
    minutesLeft: minutes,
  };
}

/** The forecast of every configured role's cap and of the project ceiling. */
export function forecastBudget(input: ForecastInput): BudgetForecast {
  const { nowMs } = input;
  const byRole = new Map(input.pace.map((p) => [p.role, p]));
  const none: PaceInput = { spentUsd: 0, recentUsd: 0, heldUsd: 0 };
  const roles = input.roles.map(({ role, capUsd }) => ({
    role,
    ...projectCap(byRole.get(role) ?? none, capUsd, nowMs),
  }));
  // Every role counts toward the ceiling, configured or not (a role removed from the file
  // may still have spent today).
  const total = input.pace.reduce(
    (sum, p) => ({
      spentUsd: sum.spentUsd + p.spentUsd,
      recentUsd: sum.recentUsd + p.recentUsd,
      heldUsd: sum.heldUsd + p.heldUsd,
    }),
    none,
  );
  const start = dayStart(nowMs);
  return {
    at: new Date(nowMs).toISOString(),
    day: new Date(start).toISOString().slice(0, 10),
    dayEndsAt: new Date(start + DAY_MS).toISOString(),
    recentSince: new Date(recentSince(nowMs)).toISOString(),
    basis: BASIS_NOTE,
    roles,
    project: projectCap(total, input.ceilingUsd, nowMs),
  };
}
