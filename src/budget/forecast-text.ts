import type { BudgetForecast, CapForecast, RateBasis } from "./forecast.js";

const usd = (n: number) => `$${n.toFixed(2)}`;

/** The rate's basis as a reader sees it. */
export function basisLabel(basis: RateBasis): string {
  return basis === "last_hour" ? "last hour" : "since 00:00 UTC";
}

/** `$2.10/h (last hour)`. */
export function rateText(f: CapForecast): string {
  return `${usd(f.rateUsdPerHour)}/h (${basisLabel(f.basis)})`;
}

/** `14:20 UTC`: the minute a cap is reached, cut down (it is reached by then). */
export function clockText(iso: string): string {
  return `${iso.slice(11, 16)} UTC`;
}

/** One role's line: "design hits its $10.00 cap at 14:20 UTC at $2.10/h (last hour)". */
export function roleForecastLine(role: string, f: CapForecast): string {
  const cap = usd(f.capUsd);
  if (f.state === "reached") {
    return `${role} has reached its ${cap} cap (${usd(f.spentUsd + f.heldUsd)} spent or held)`;
  }
  if (f.state === "hits")
    return `${role} hits its ${cap} cap at ${clockText(f.hitsAt!)} at ${rateText(f)}`;
  return `${role} holds its ${cap} cap today at ${rateText(f)}`;
}

/** The ceiling's line: "the project ceiling ($50.00) holds today at $3.00/h (last hour)". */
export function projectForecastLine(f: CapForecast): string {
  const cap = usd(f.capUsd);
  if (f.state === "reached") {
    return `the project has reached its ${cap} ceiling (${usd(f.spentUsd + f.heldUsd)} spent or held)`;
  }
  if (f.state === "hits") {
    return `the project hits its ${cap} ceiling at ${clockText(f.hitsAt!)} at ${rateText(f)}`;
  }
  return `the project ceiling (${cap}) holds today at ${rateText(f)}`;
}

/** Every line of a forecast: the roles in config order, then the project. */
export function forecastLines(f: BudgetForecast): string[] {
  return [...f.roles.map((r) => roleForecastLine(r.role, r)), projectForecastLine(f.project)];
}
