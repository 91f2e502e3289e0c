// isoAt keeps the text of the current second: it must write exactly what toISOString does,
// across second, day and year boundaries, and fall back for what the shortcut cannot write.
import { describe, expect, it } from "vitest";
import { isoAt, ManualClock, utcIsoNow } from "../src/clock.js";

describe("isoAt", () => {
  const instants = [
    0,
    1,
    999,
    1000,
    Date.parse("2026-12-31T23:59:59.999Z"),
    Date.parse("2027-01-01T00:00:00.000Z"),
    Date.parse("2026-05-06T09:30:00.010Z"),
    Date.parse("2026-05-06T09:30:00.100Z"),
    253_402_300_799_999,
  ];

  it("writes what toISOString writes, in order and back and forth", () => {
    for (const ms of [...instants, ...instants.toReversed(), ...instants]) {
      expect(isoAt(ms)).toBe(new Date(ms).toISOString());
    }
    // Every millisecond across a few seconds, so the kept second is reused and replaced.
    const start = Date.parse("2026-11-30T23:59:58.500Z");
    for (let ms = start; ms < start + 3000; ms++) {
      expect(isoAt(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it("falls back for fractions, instants before 1970 and six-digit years", () => {
    for (const ms of [1.5, -1, -62_198_755_200_000, 253_402_300_800_000, 8.64e15]) {
      expect(isoAt(ms)).toBe(new Date(ms).toISOString());
    }
    expect(() => isoAt(Number.NaN)).toThrow(RangeError);
  });

  it("stamps the clock's time", () => {
    const clock = new ManualClock();
    clock.set("2026-05-06T09:30:00.007Z");
    expect(utcIsoNow(clock)).toBe("2026-05-06T09:30:00.007Z");
    clock.advance(993);
    expect(utcIsoNow(clock)).toBe("2026-05-06T09:30:01.000Z");
  });
});
