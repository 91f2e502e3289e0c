import type { Clock } from "../clock.js";
import type { ProducerConfig } from "../config/types.js";
import type { Ledger } from "../ledger/ledger.js";
import { type BudgetForecast, forecastBudget, recentSince } from "./forecast.js";

/** The slice of producer.yaml the forecast needs: each role's cap and the ceiling. */
export type ForecastSettings = Pick<ProducerConfig, "agents" | "budget">;

/**
 * Today's forecast from the ledger alone, at `clock`'s now (the ledger's own clock by
 * default, the one its budget days are kept in).
 */
export async function readForecast(
  ledger: Pick<Ledger, "spendPace" | "clock">,
  settings: ForecastSettings,
  clock: Clock = ledger.clock,
): Promise<BudgetForecast> {
  const nowMs = clock.now();
  const day = new Date(nowMs).toISOString().slice(0, 10);
  const pace = await ledger.spendPace(day, new Date(recentSince(nowMs)).toISOString());
  return forecastBudget({
    nowMs,
    roles: Object.values(settings.agents).map((a) => ({ role: a.name, capUsd: a.dailyCapUsd })),
    ceilingUsd: settings.budget.projectCeilingUsd,
    pace,
  });
}
