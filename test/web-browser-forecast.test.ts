import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { ManualClock } from "../src/index.js";
import { describeInChromium, openPage } from "./helpers/browser.js";
import { dashboardProject } from "./helpers/dashboard.js";
import { chargeAt } from "./helpers/ledger.js";

const ARTIFACTS = resolve(import.meta.dirname, "..", "test-artifacts");
const DAY = "2026-05-06";

/** Page code (a string: this file is not compiled for the DOM) counting the line's pixels. */
const COUNT_PROJECTION_PIXELS = `(() => {
  const canvas = document.querySelector("#chart-spend canvas");
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  const near = (v, want) => Math.abs(v - want) < 24;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (near(data[i], 0xf2) && near(data[i + 1], 0xcc) && near(data[i + 2], 0x60)) n++;
  }
  return n;
})()`;

describeInChromium("burn-rate forecast in Chromium", () => {
  it("draws today's projection dashed on the spend chart, captioned, with each cap's line", async () => {
    const clock = new ManualClock();
    const p = await dashboardProject({ clock, top: "budget:\n  project_ceiling_usd: 20\n" });
    const charge = (role: string, at: string, cost: number) =>
      chargeAt(p.ledger, clock, role, `${DAY}T${at}:00.000Z`, cost);
    await charge("code", "06:00", 6);
    await charge("design", "11:30", 1.5);
    clock.set(`${DAY}T12:00:00.000Z`);
    const { page, errors } = await openPage(p.dashboard.url);

    // By hand, at 12:00 (caps: design $4, code $10; ceiling $20). design: 1.50 in the last
    // hour, 1.50/h; 2.50 left lasts 100 min: 13:40. code: nothing in the last hour, 6 / 12 h
    // = 0.50/h; 4 left lasts 8 h: 20:00. The project: 7.50 spent, 1.50/h (the day's 0.625/h
    // is lower); 12.50 left lasts 8 h 20 min: 20:20.
    const forecast = page.locator("#budget-forecast li");
    await expect
      .poll(() => forecast.allTextContents())
      .toEqual([
        "producer holds its $5.00 cap today at $0.00/h (last hour)",
        "design hits its $4.00 cap at 13:40 UTC at $1.50/h (last hour)",
        "code hits its $10.00 cap at 20:00 UTC at $0.50/h (since 00:00 UTC)",
        "qa holds its $2.00 cap today at $0.00/h (last hour)",
        "the project hits its $20.00 ceiling at 20:20 UTC at $1.50/h (last hour)",
      ]);
    expect(await forecast.first().getAttribute("title")).toContain("higher of the last hour's");

    const caption = page.locator("#spend-caption");
    await expect
      .poll(() => caption.textContent())
      .toBe("Dashed: at $1.50/h (last hour) the project reaches its $20.00 ceiling at 20:20 UTC.");
    expect(await caption.isVisible()).toBe(true);
    await page.locator("#chart-spend .uplot canvas").waitFor();
    expect(await page.locator("#chart-spend .u-legend").textContent()).toContain("projected today");
    // The line itself: pixels of the projection's colour (--chart-projection) on the canvas.
    const projected = await page.evaluate<number>(COUNT_PROJECTION_PIXELS);
    expect(projected).toBeGreaterThan(40);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator("#charts-card").screenshot({ path: join(ARTIFACTS, "forecast-chart.png") });
    expect(errors).toEqual([]);
  });
});
