import type { Page } from "playwright-core";
import { expect, it } from "vitest";
import { describeInChromium, openPage, taskRow } from "./helpers/browser.js";
import { runCli } from "./helpers/cli.js";
import { dashboardProject, watchFailure } from "./helpers/dashboard.js";

/**
 * Runs in the page (as text: the tests compile without the DOM's types): from now on, notes
 * when (the page's Date.now()) a row titled `wanted` first shows in the task list. A
 * MutationObserver sees it as the page draws it, so the test's own polling adds no delay.
 */
const NOTE_ROW = `(wanted) => {
  const list = document.getElementById("task-list");
  const shown = () => [...list.querySelectorAll(".task-title")].some((e) => e.textContent === wanted);
  window.rowSeen = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (!shown()) return;
      observer.disconnect();
      resolve(Date.now());
    });
    observer.observe(list, { childList: true, subtree: true, characterData: true });
  });
}`;

/** Starts watching for the row; the function returned resolves with when it showed. */
async function watchForRow(page: Page, title: string): Promise<() => Promise<number>> {
  await page.evaluate(`(${NOTE_ROW})(${JSON.stringify(title)})`);
  return () => page.evaluate<number>("window.rowSeen");
}

/** Files a task from a separate `producer` process, as an agent or a person would. */
async function addFromCli(dir: string, title: string): Promise<string> {
  const added = await runCli(["task", "add", "--agent", "qa", "--title", title], { cwd: dir });
  expect(added).toMatchObject({ code: 0, stderr: "" });
  return added.stdout.trim();
}

describeInChromium("dashboard live updates in Chromium", () => {
  it("shows a task filed by another process within a second, pushed, without polling", async () => {
    const p = await dashboardProject();
    const { page, errors } = await openPage(p.dashboard.url);
    const live = page.locator("#live");
    await page.locator('#live[data-mode="push"]').waitFor();
    expect(await live.textContent()).toBe("live");
    expect(await live.getAttribute("title")).toBe("updates pushed as the ledger changes");

    // Pushed to, the page does not ask for the state while nothing changes (polling would
    // ask every 2 s).
    await page.waitForTimeout(500);
    const reads: string[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/api/state") reads.push(request.url());
    });
    await page.waitForTimeout(2500);
    expect(reads).toEqual([]);

    // From the other process's commit (the task's created_at, on this machine's clock) to the
    // row drawn in the page. Typically a few hundred ms; 1 s leaves room for a loaded machine,
    // and polling every 2 s could not pass it twice in a row reliably (nor the check above).
    for (const title of ["Filed from another process", "And one more"]) {
      const seen = await watchForRow(page, title);
      const id = await addFromCli(p.dir, title);
      const shownAt = await seen();
      const task = await p.ledger.getTask(id);
      const latency = shownAt - Date.parse(task!.createdAt);
      expect(latency, `${title}: ${latency} ms`).toBeLessThan(1000);
      expect(latency).toBeGreaterThanOrEqual(0);
    }
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
  });

  it("polls instead when the event stream is refused, and says so", async () => {
    const p = await dashboardProject();
    const { page } = await openPage(p.dashboard.url, {
      before: (page) =>
        page.route("**/api/events", (route) =>
          route.fulfill({
            status: 503,
            contentType: "application/json",
            body: JSON.stringify({ error: "too many live streams open" }),
          }),
        ),
    });
    const live = page.locator("#live");
    await page.locator('#live[data-mode="poll"]').waitFor();
    expect(await live.textContent()).toMatch(/^polling/);
    expect(await live.getAttribute("title")).toBe("live updates unavailable: asking every 2 s");
    await addFromCli(p.dir, "Seen by polling");
    // Polling every 2 s: a few seconds at most.
    await taskRow(page, "Seen by polling").waitFor({ timeout: 6000 });
    expect(await page.locator('#live[data-live="live"]').count()).toBe(1);
  });

  it("falls back to polling when an open stream ends", async () => {
    const p = await dashboardProject();
    // The real watch, and a handle on its failure report (a vanished folder, a lost LISTEN).
    const fail = watchFailure(p.ledger);
    const { page } = await openPage(p.dashboard.url);
    await page.locator('#live[data-mode="push"]').waitFor();
    fail("watching the ledger stopped");
    await page.locator('#live[data-mode="poll"]').waitFor();
    await addFromCli(p.dir, "Seen after the stream ended");
    await taskRow(page, "Seen after the stream ended").waitFor({ timeout: 6000 });
    expect(p.errors).toEqual([
      "live updates are off, the page polls instead: watching the ledger stopped",
    ]);
  });
});
