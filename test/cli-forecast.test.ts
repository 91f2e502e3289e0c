import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import type { ProjectStatus } from "../src/cli/commands/status.js";
import { LedgerClient, ManualClock } from "../src/index.js";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

const PIN = pathToFileURL(join(import.meta.dirname, "fixtures", "pinned-now.mjs")).href;
const HOUR = 3_600_000;
const DAY = "2026-05-06";
const NOW = `${DAY}T12:00:00.000Z`;
const at = (hhmm: string) => `${DAY}T${hhmm}:00.000Z`;

// Wide limits with many slots: every seeded call is allowed and holds exactly its minimum.
const LIMITS = {
  roleCapUsd: 100,
  ceilingUsd: 1000,
  softCapRatio: 1,
  roleSlots: 1000,
  projectSlots: 1000,
};

/**
 * The seeded day, every call reserved five minutes before it settled (settling is when a call
 * is charged), and one design call still in flight at noon holding $0.50.
 */
const SETTLED: [role: string, settledAt: string, costUsd: number][] = [
  ["design", "03:00", 1.0],
  ["design", "08:00", 1.0],
  ["design", "11:20", 1.5],
  ["design", "11:50", 0.6],
  ["code", "02:00", 3.0],
  ["qa", "11:30", 0.2],
];

async function seededProject(): Promise<string> {
  const dir = tempDir("producer-forecast-");
  writeFileSync(
    join(dir, "producer.yaml"),
    [
      "project_name: forecast",
      "budget:",
      "  project_ceiling_usd: 50",
      "agents:",
      "  producer:",
      "    daily_cap_usd: 5",
      "  design:",
      "    daily_cap_usd: 10",
      "  code:",
      "    daily_cap_usd: 5",
      "  qa:",
      "    daily_cap_usd: 5",
      "",
    ].join("\n"),
  );
  const clock = new ManualClock();
  const ledger = await LedgerClient.open({
    dbPath: join(dir, "agent-state", "ledger.db"),
    roles: ["producer", "design", "code", "qa"],
    clock,
    actor: "test",
  });
  try {
    for (const [role, settledAt, cost] of SETTLED) {
      clock.set(Date.parse(at(settledAt)) - 5 * 60_000);
      const hold = await ledger.reserveBudget({ day: DAY, role, minimumUsd: 0.5 }, LIMITS);
      if (!hold.ok) throw new Error(`seeding: ${role} refused`);
      clock.set(at(settledAt));
      await ledger.settleBudget(hold.reservation.id, cost, LIMITS);
    }
    clock.set(at("11:55"));
    const inFlight = await ledger.reserveBudget(
      { day: DAY, role: "design", minimumUsd: 0.5 },
      LIMITS,
    );
    expect(inFlight.ok && inFlight.reservation.amountUsd).toBe(0.5);
  } finally {
    await ledger.close();
  }
  return dir;
}

const status = (dir: string, args: string[]) =>
  runCli(["status", ...args], { cwd: dir, env: { PINNED_NOW: NOW }, nodeArgs: ["--import", PIN] });

describe("burn-rate forecast in producer status", () => {
  it("matches a hand computation of a seeded day, in JSON and in text", async () => {
    const dir = await seededProject();
    const [json, text] = await Promise.all([status(dir, ["--json"]), status(dir, [])]);
    expect(json).toMatchObject({ code: 0, stderr: "" });
    expect(text).toMatchObject({ code: 0, stderr: "" });
    const { forecast } = JSON.parse(json.stdout) as ProjectStatus;
    const noon = Date.parse(NOW);
    expect(forecast).toMatchObject({
      at: NOW,
      day: DAY,
      dayEndsAt: "2026-05-07T00:00:00.000Z",
      recentSince: at("11:00"),
    });
    expect(forecast.basis).toContain("higher of the last hour's rate and the rate since 00:00 UTC");

    // By hand. design: settled 1.00 + 1.00 + 1.50 + 0.60 = 4.10 in 12 h since midnight,
    // 1.50 + 0.60 = 2.10 of it since 11:00; 0.50 in flight. The last hour's 2.10/h beats
    // the day's 4.10 / 12 = 0.3417/h. Left under the cap: 10 - 4.10 - 0.50 = 5.40, gone in
    // 5.40 / 2.10 = 2.571 h, at 14:34:17 UTC.
    const design = forecast.roles.find((r) => r.role === "design")!;
    expect(design).toMatchObject({ capUsd: 10, heldUsd: 0.5, basis: "last_hour", state: "hits" });
    expect(design.spentUsd).toBeCloseTo(4.1, 9);
    expect(design.lastHourUsdPerHour).toBeCloseTo(2.1, 9);
    expect(design.todayUsdPerHour).toBeCloseTo(4.1 / 12, 9);
    expect(design.rateUsdPerHour).toBeCloseTo(2.1, 9);
    const designHit = noon + ((10 - 4.1 - 0.5) / 2.1) * HOUR;
    expect(Math.abs(Date.parse(design.hitsAt!) - designHit)).toBeLessThan(2);
    expect(design.minutesLeft).toBeCloseTo((5.4 / 2.1) * 60, 6);

    // code: 3.00 at 02:00, nothing in the last hour: the day's 3 / 12 = 0.25/h is the higher.
    // Left: 5 - 3 = 2, gone in 8 h, at 20:00 UTC.
    const code = forecast.roles.find((r) => r.role === "code")!;
    expect(code).toMatchObject({ basis: "today", state: "hits", lastHourUsdPerHour: 0 });
    expect(code.rateUsdPerHour).toBeCloseTo(0.25, 9);
    expect(code.hitsAt).toBe(at("20:00"));

    // qa: 0.20 at 11:30 makes 0.20/h over the last hour (the day's: 0.0167/h). Left: 4.80,
    // gone in 24 h: past midnight, so the cap holds today.
    const qa = forecast.roles.find((r) => r.role === "qa")!;
    expect(qa).toMatchObject({ basis: "last_hour", state: "holds", hitsAt: null });
    expect(qa.rateUsdPerHour).toBeCloseTo(0.2, 9);

    // producer spent nothing: no rate, the cap holds.
    const producer = forecast.roles.find((r) => r.role === "producer")!;
    expect(producer).toMatchObject({ rateUsdPerHour: 0, state: "holds", hitsAt: null });

    // project: 7.30 settled, 0.50 held; 2.30 in the last hour (2.30/h) against 7.30 / 12 =
    // 0.608/h. Left: 50 - 7.80 = 42.20, gone in 18.3 h: past midnight, so it holds.
    expect(forecast.project).toMatchObject({ capUsd: 50, heldUsd: 0.5, state: "holds" });
    expect(forecast.project.spentUsd).toBeCloseTo(7.3, 9);
    expect(forecast.project.rateUsdPerHour).toBeCloseTo(2.3, 9);
    expect(forecast.project.basis).toBe("last_hour");

    const lines = text.stdout.split("\n");
    const from = lines.indexOf("forecast at 12:00 UTC");
    expect(from).toBeGreaterThan(0);
    expect(lines.slice(from + 1, from + 6)).toEqual([
      "  producer holds its $5.00 cap today at $0.00/h (last hour)",
      "  design hits its $10.00 cap at 14:34 UTC at $2.10/h (last hour)",
      "  code hits its $5.00 cap at 20:00 UTC at $0.25/h (since 00:00 UTC)",
      "  qa holds its $5.00 cap today at $0.20/h (last hour)",
      "  the project ceiling ($50.00) holds today at $2.30/h (last hour)",
    ]);
    expect(lines[from + 6]).toContain("money held by calls in flight counts as spent");
  });
});
