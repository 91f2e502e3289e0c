/**
 * Rules that span several keys, or that zod would skip once a sibling key is wrong. They read
 * the raw parsed YAML defensively, so they run (and report) even when the schema also fails.
 */
import type { FoundProblem } from "./problems.js";
import { ROLE_NAME_PATTERN, ROLE_NAME_RULE } from "./schema.js";

/** A YAML mapping, as parsed into plain JS. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

/** Problems of one role: its name, runtime/command consistency, reservation vs cap. */
function roleProblems(name: string, settings: unknown): FoundProblem[] {
  const problems: FoundProblem[] = [];
  if (!ROLE_NAME_PATTERN.test(name))
    problems.push({ path: ["agents", name], message: ROLE_NAME_RULE });
  if (!isMapping(settings)) return problems;

  const runtime = settings.runtime ?? "claude";
  const command = ["agents", name, "command"];
  if (runtime === "exec" && settings.command === undefined) {
    problems.push({ path: command, message: "is required when runtime is exec" });
  }
  if (runtime === "claude" && settings.command !== undefined) {
    problems.push({ path: command, message: "is only allowed with runtime: exec" });
  }

  const cap = settings.daily_cap_usd;
  const reservation = settings.dispatch_reservation_usd;
  // A reservation above the cap would refuse every dispatch of the role, forever.
  if (isPositiveNumber(cap) && isPositiveNumber(reservation) && reservation > cap) {
    problems.push({
      path: ["agents", name, "dispatch_reservation_usd"],
      message: `must not exceed daily_cap_usd (${reservation} > ${cap})`,
    });
  }
  return problems;
}

/**
 * Cross-field problems of the whole file. A role cap above budget.project_ceiling_usd is
 * deliberately allowed: the ceiling simply binds first.
 */
export function crossFieldProblems(data: Record<string, unknown>): FoundProblem[] {
  if (!isMapping(data.agents)) return [];
  return Object.entries(data.agents).flatMap(([name, settings]) => roleProblems(name, settings));
}
