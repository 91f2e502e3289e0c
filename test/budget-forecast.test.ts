import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { forecastBudget, forecastLines } from "../src/index.js";

const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);

describe("forecastBudget (pure)", () => {
  it("counts money held by calls in flight as spent: a cap can be reached by holds alone", () => {
    const f = forecastBudget({
      nowMs: at("2026-05-06T10:00:00Z"),
      roles: [{ role: "code", capUsd: 2 }],
      ceilingUsd: 50,
      pace: [{ role: "code", spentUsd: 1.5, recentUsd: 0, heldUsd: 0.5 }],
    });
    expect(f.roles[0]).toMatchObject({
      state: "reached",
      hitsAt: "2026-05-06T10:00:00.000Z",
      minutesLeft: 0,
    });
    expect(forecastLines(f)[0]).toBe("code has reached its $2.00 cap ($2.00 spent or held)");
  });

  it("measures the short rate since midnight in the day's first hour", () => {
    // 00:30: both rates are over the same half hour, $1 / 0.5 h = $2/h; $3 left lasts 1.5 h.
    const f = forecastBudget({
      nowMs: at("2026-05-06T00:30:00Z"),
      roles: [{ role: "qa", capUsd: 4 }],
      ceilingUsd: 50,
      pace: [{ role: "qa", spentUsd: 1, recentUsd: 1, heldUsd: 0 }],
    });
    expect(f.recentSince).toBe("2026-05-06T00:00:00.000Z");
    expect(f.roles[0]).toMatchObject({
      lastHourUsdPerHour: 2,
      todayUsdPerHour: 2,
      state: "hits",
      hitsAt: "2026-05-06T02:00:00.000Z",
    });
  });

  it("says a cap holds when it would be reached only at or after midnight, or nothing is spent", () => {
    // 18:00, $1/h by the day's rate, $6 left: exactly midnight, which is tomorrow's budget.
    const f = forecastBudget({
      nowMs: at("2026-05-06T18:00:00Z"),
      roles: [
        { role: "design", capUsd: 24 },
        { role: "qa", capUsd: 1 },
      ],
      ceilingUsd: 100,
      pace: [{ role: "design", spentUsd: 18, recentUsd: 0, heldUsd: 0 }],
    });
    expect(f.roles.map((r) => [r.role, r.state, r.hitsAt, r.basis])).toEqual([
      ["design", "holds", null, "today"],
      ["qa", "holds", null, "last_hour"],
    ]);
    expect(f.project).toMatchObject({ spentUsd: 18, state: "holds" });
    expect(forecastLines(f)).toEqual([
      "design holds its $24.00 cap today at $1.00/h (since 00:00 UTC)",
      "qa holds its $1.00 cap today at $0.00/h (last hour)",
      "the project ceiling ($100.00) holds today at $1.00/h (since 00:00 UTC)",
    ]);
  });

  it("counts a role missing from the config toward the ceiling only", () => {
    const f = forecastBudget({
      nowMs: at("2026-05-06T12:00:00Z"),
      roles: [{ role: "code", capUsd: 5 }],
      ceilingUsd: 10,
      pace: [{ role: "retired", spentUsd: 9, recentUsd: 3, heldUsd: 0 }],
    });
    expect(f.roles.map((r) => r.role)).toEqual(["code"]);
    // $3/h over the last hour; $1 left under the ceiling lasts 20 minutes.
    expect(f.project).toMatchObject({ state: "hits", hitsAt: "2026-05-06T12:20:00.000Z" });
    expect(forecastLines(f).at(-1)).toBe(
      "the project hits its $10.00 ceiling at 12:20 UTC at $3.00/h (last hour)",
    );
  });

  it("projects at the higher rate: at that rate, spending until the forecast time uses exactly the room left", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 86_399_999 }),
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (offsetMs, spent, recentShare, held, cap) => {
          const nowMs = at("2026-05-06T00:00:00Z") + offsetMs;
          const recent = spent * recentShare;
          const f = forecastBudget({
            nowMs,
            roles: [{ role: "r", capUsd: cap }],
            ceilingUsd: 1000,
            pace: [{ role: "r", spentUsd: spent, recentUsd: recent, heldUsd: held }],
          }).roles[0]!;
          expect(f.rateUsdPerHour).toBe(Math.max(f.lastHourUsdPerHour, f.todayUsdPerHour));
          const left = cap - spent - held;
          if (left <= 1e-9) {
            expect(f.state).toBe("reached");
          } else if (f.state === "holds") {
            const untilMidnight = (at("2026-05-07T00:00:00Z") - nowMs) / HOUR;
            expect(f.rateUsdPerHour * untilMidnight).toBeLessThanOrEqual(left * (1 + 1e-9));
          } else {
            expect(f.state).toBe("hits");
            const hours = (f.minutesLeft ?? Number.NaN) / 60;
            expect(Math.abs(f.rateUsdPerHour * hours - left)).toBeLessThan(
              1e-9 * Math.max(1, left),
            );
            expect(Date.parse(f.hitsAt!)).toBeLessThan(at("2026-05-07T00:00:00Z") + 1);
          }
        },
      ),
    );
  });
});
