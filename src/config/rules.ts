/**
 * Rules that span several keys, or that zod would skip once a sibling key is wrong. They read
 * the raw parsed YAML defensively, so they run (and report) even when the schema also fails.
 */
import { hasPassword, parseLedgerUrl } from "./ledger-url.js";
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
  const problems = ledgerUrlProblems(data);
  if (!isMapping(data.agents)) return problems;
  return problems.concat(
    Object.entries(data.agents).flatMap(([name, settings]) => roleProblems(name, settings)),
  );
}

/**
 * `ledger_url` names a PostgreSQL ledger instead of the file `ledger_db`: one or the other.
 * A password in it is refused: producer.yaml is committed and read by agents; the password
 * belongs in the environment (PGPASSWORD) of the hosts that run the Producer.
 */
function ledgerUrlProblems(data: Record<string, unknown>): FoundProblem[] {
  const url = data.ledger_url;
  if (typeof url !== "string") return [];
  const path = ["ledger_url"];
  if (data.ledger_db !== undefined) {
    return [
      { path, message: "set ledger_db (a SQLite file) or ledger_url (PostgreSQL), not both" },
    ];
  }
  try {
    parseLedgerUrl(url);
  } catch (error) {
    return [{ path, message: (error as Error).message }];
  }
  if (hasPassword(url)) {
    return [
      {
        path,
        message:
          "holds a password: remove it and set PGPASSWORD in the environment of each host instead",
      },
    ];
  }
  return [];
}
