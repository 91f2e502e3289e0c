import type { BudgetForecast } from "../budget/forecast.js";
import { readForecast } from "../budget/forecast-read.js";
import { clockText, roleForecastLine } from "../budget/forecast-text.js";
import type { Clock } from "../clock.js";
import type { ProducerConfig } from "../config/types.js";
import type { Ledger } from "../ledger/ledger.js";
import type { Notifier } from "../notify/notifier.js";
import type { ProducerEventEmitter } from "./events.js";

/** The notification kind of a cap forecast to be reached soon. */
export const CAP_FORECAST_KIND = "cap_forecast";

/** Ties a role's warning to its UTC day: the notification a restart looks for. */
export function capForecastSequence(day: string, role: string): string {
  return `cap-forecast-${day}-${role}`;
}

/**
 * Warns once per UTC day per role when, at today's burn rate, the role's daily cap will be
 * reached within `budget.forecast_warning_minutes`: early enough for a human to raise the cap
 * or slow the role before it stops. "Once" is kept in the ledger (today's notifications), not
 * only here, so a restarted Producer, or a second one on the same ledger, does not warn again.
 */
export class CapForecastWatch {
  /** Roles warned about on `day`, as far as this process knows. */
  private warned: { day: string; roles: Set<string> } | null = null;

  constructor(
    private readonly ledger: Pick<Ledger, "spendPace" | "clock" | "listNotifications">,
    private readonly config: Pick<ProducerConfig, "agents" | "budget">,
    private readonly notifier: Notifier,
    private readonly events: ProducerEventEmitter,
    private readonly clock: Clock,
  ) {}

  /** Looks at today's forecast and warns about each role newly within the window. */
  async check(): Promise<void> {
    const windowMinutes = this.config.budget.forecastWarningMinutes;
    if (windowMinutes <= 0) return;
    const forecast = await readForecast(this.ledger, this.config, this.clock);
    const soon = forecast.roles.filter(
      (r) => r.state === "hits" && r.minutesLeft !== null && r.minutesLeft <= windowMinutes,
    );
    if (soon.length === 0) return;
    const warned = await this.warnedOn(forecast.day);
    for (const role of soon) {
      if (warned.has(role.role)) continue;
      // Marked before the push: a push that fails is recorded as failed, not tried hourly.
      warned.add(role.role);
      await this.warn(forecast, role);
    }
  }

  private async warn(forecast: BudgetForecast, role: BudgetForecast["roles"][number]) {
    const minutes = Math.max(1, Math.round(role.minutesLeft ?? 0));
    this.events.emit("cap_forecast", {
      role: role.role,
      capUsd: role.capUsd,
      hitsAt: role.hitsAt!,
      minutesLeft: role.minutesLeft!,
      rateUsdPerHour: role.rateUsdPerHour,
      basis: role.basis,
    });
    await this.notifier.notify({
      kind: CAP_FORECAST_KIND,
      title: `${role.role} reaches its daily cap in about ${minutes} min`,
      message: `${roleForecastLine(role.role, role)}: $${(role.spentUsd + role.heldUsd).toFixed(2)} spent or held of $${role.capUsd.toFixed(2)} so far. Its dispatches stop at ${clockText(role.hitsAt!)} unless you raise agents.${role.role}.daily_cap_usd or slow it down.`,
      priority: 4,
      tags: ["chart_with_upwards_trend"],
      sequenceId: capForecastSequence(forecast.day, role.role),
    });
  }

  /** Roles already warned about on `day`: read from the ledger once per day, then kept. */
  private async warnedOn(day: string): Promise<Set<string>> {
    if (this.warned?.day === day) return this.warned.roles;
    const since = `${day}T00:00:00.000Z`;
    const today = await this.ledger.listNotifications({ since });
    const roles = new Set<string>();
    for (const role of Object.keys(this.config.agents)) {
      const sequence = capForecastSequence(day, role);
      if (today.some((n) => n.kind === CAP_FORECAST_KIND && n.sequenceId === sequence)) {
        roles.add(role);
      }
    }
    this.warned = { day, roles };
    return roles;
  }
}
