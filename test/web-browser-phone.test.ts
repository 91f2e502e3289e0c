import type { Page } from "playwright-core";
import { expect, it } from "vitest";
import { KillSwitchWatcher, ProjectNotifier } from "../src/index.js";
import { describeInChromium, openPage, taskRow } from "./helpers/browser.js";
import { dashboardProject } from "./helpers/dashboard.js";

const PHONE = { width: 390, height: 844 };

/** Sizes of a banner and of its heading, in CSS pixels (measured in the page). */
interface BannerBox {
  banner: number;
  heading: number;
  fontSize: number;
  /** The banner's own vertical padding and border: all it may add to a one-line heading. */
  frame: number;
}

// The page's functions go as text: the tests compile without the DOM's types.
const measureBanner = (page: Page, id: string) =>
  page.evaluate<BannerBox>(`(() => {
    const banner = document.getElementById(${JSON.stringify(id)});
    const heading = banner.querySelector("h2");
    const style = getComputedStyle(banner);
    const frame = ["paddingTop", "paddingBottom", "borderTopWidth", "borderBottomWidth"]
      .reduce((sum, key) => sum + parseFloat(style[key]), 0);
    return {
      banner: banner.getBoundingClientRect().height,
      heading: heading.getBoundingClientRect().height,
      fontSize: parseFloat(getComputedStyle(heading).fontSize),
      frame,
    };
  })()`);

/** A banner that shows its heading on one line and nothing else. */
function expectOneLine(box: BannerBox, what: string) {
  // One line is about 1.2-1.5 font sizes tall, two lines at least 2.4.
  expect(box.heading, what).toBeLessThan(2 * box.fontSize);
  expect(box.banner, what).toBeLessThanOrEqual(box.heading + box.frame + 1);
}

describeInChromium("dashboard on a phone, in Chromium", () => {
  it("scrolls the queue table in its own box and says so; banners are one line until tapped", async () => {
    const p = await dashboardProject();
    await p.fileTask("code", "Wire the save-game migration");
    await new KillSwitchWatcher(p.config.killSwitch, { ledger: p.ledger }).arm(
      "deploy in progress: the staging database is being migrated and must not be written to",
      "cli",
    );
    const notifier = new ProjectNotifier(p.ledger, p.config);
    await notifier.notify({
      kind: "escalation",
      title: "Escalated: Port the physics step to fixed time after three failed attempts",
      message: "code gave up after 3 retries; see agent-state/escalations.",
      needsHuman: true,
    });
    const { page, errors } = await openPage(p.dashboard.url, { viewport: PHONE });
    await page.locator("#kill-banner").waitFor();
    await page.locator("#attention-banner").waitFor();

    // The page itself never scrolls sideways...
    const [pageWidth, viewWidth] = await page.evaluate<[number, number]>(
      "[document.documentElement.scrollWidth, window.innerWidth]",
    );
    expect(pageWidth).toBeLessThanOrEqual(viewWidth);
    // ...the queue table does, inside its card, with its far edge faded to say so.
    const wrap = "#queue-card .table-wrap";
    const table = await page.evaluate<{ scroll: number; client: number; overflow: string }>(
      `(() => {
        const wrap = document.querySelector(${JSON.stringify(wrap)});
        return { scroll: wrap.scrollWidth, client: wrap.clientWidth, overflow: getComputedStyle(wrap).overflowX };
      })()`,
    );
    expect(table.scroll).toBeGreaterThan(table.client);
    expect(["auto", "scroll"]).toContain(table.overflow);
    await page.locator(`${wrap}[data-more="right"]`).waitFor();
    const mask = () =>
      page.evaluate<string>(
        `getComputedStyle(document.querySelector(${JSON.stringify(wrap)})).maskImage`,
      );
    expect(await mask()).toMatch(/gradient/);
    await page.evaluate(`document.querySelector(${JSON.stringify(wrap)}).scrollLeft = 10000`);
    await page.locator(`${wrap}[data-more="left"]`).waitFor();
    expect(await mask()).toMatch(/gradient/);

    // Each banner is its heading on one line; the rest waits for a tap on it.
    for (const id of ["kill-banner", "attention-banner"]) {
      expectOneLine(await measureBanner(page, id), id);
    }
    expect(await page.locator("#kill-reason").isVisible()).toBe(false);
    expect(await page.locator("#btn-banner-disarm").isVisible()).toBe(false);
    expect(await page.locator("#attention-list").isVisible()).toBe(false);
    const heading = page.locator("#kill-banner h2");
    expect(await heading.getAttribute("aria-expanded")).toBe("false");
    const collapsed = await measureBanner(page, "kill-banner");
    await heading.click();
    expect(await page.locator("#kill-reason").isVisible()).toBe(true);
    expect(await page.locator("#btn-banner-disarm").isVisible()).toBe(true);
    expect(await heading.getAttribute("aria-expanded")).toBe("true");
    expect((await measureBanner(page, "kill-banner")).banner).toBeGreaterThan(collapsed.banner * 2);
    // The other banner stays shut, and a redraw of the page keeps this one open.
    expectOneLine(await measureBanner(page, "attention-banner"), "attention-banner");
    await p.fileTask("qa", "Filed while the banner is open");
    await taskRow(page, "Filed while the banner is open").waitFor();
    expect(await page.locator("#kill-reason").isVisible()).toBe(true);
    await heading.press("Enter");
    expect(await page.locator("#kill-reason").isVisible()).toBe(false);
    expectOneLine(await measureBanner(page, "kill-banner"), "kill-banner, closed again");

    // On a wide screen banners show in full and their headings are no buttons.
    await page.setViewportSize({ width: 1440, height: 900 });
    expect(await page.locator("#kill-reason").isVisible()).toBe(true);
    expect(await page.locator("#attention-list").isVisible()).toBe(true);
    expect(await heading.getAttribute("role")).toBeNull();
    expect(errors).toEqual([]);
  });
});
