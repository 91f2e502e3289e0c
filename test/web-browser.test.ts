import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, it, onTestFinished } from "vitest";
import { describeInChromium, openPage, taskRow } from "./helpers/browser.js";
import { type CliProcess, startCli } from "./helpers/cli.js";
import { dashboardProject, ShiftedClock, seedLedger, testClockStart } from "./helpers/dashboard.js";

const ARTIFACTS = resolve(import.meta.dirname, "..", "test-artifacts");
const XSS = "<img src=x onerror=alert(1)>";
const row = taskRow;

describeInChromium("dashboard in Chromium", () => {
  it("shows a seeded project at a glance, with task detail, charts and ntfy panel", async () => {
    // Half past midnight UTC, where "today" has room for only half an hour of work: seeding
    // at now-2h used to put it in yesterday. PRODUCER_TEST_NOW picks another time to try.
    const clock = new ShiftedClock(testClockStart("00:30"));
    const p = await dashboardProject({ clock, top: "notifications:\n  ntfy_topic: web-test\n" });
    const seeded = await seedLedger(p, clock);
    const { page, dialogs, errors } = await openPage(p.dashboard.url);

    await expect.poll(() => page.locator("#project-name").textContent()).toBe("webtest");
    expect(await page.locator("#status-pill").textContent()).toBe("running");
    expect(await page.locator("#kill-banner").isHidden()).toBe(true);
    const attention = await page.locator("#attention-banner").textContent();
    expect(attention).toContain("design hit its daily cap");
    expect(attention).toContain("Escalated: Port the physics step to fixed time");
    expect(await page.locator("#tiles").textContent()).toMatch(/needs you\s*1\s*escalated/);
    expect(await page.locator("#queue-matrix tfoot").textContent()).toMatch(/all roles/);
    expect(await row(page, "Wire the save-game migration").textContent()).toMatch(
      /failed.*cannot read properties of undefined/,
    );
    const budget = page.locator("#budget-roles");
    expect(await budget.locator("li[data-role=design]").textContent()).toContain("[CAP HIT]");
    expect(await budget.locator("li[data-role=qa]").textContent()).toContain("(soft cap)");
    expect(await budget.locator(".soft-line").count()).toBe(4);
    expect(await page.locator("#audit-feed li").count()).toBeGreaterThan(5);
    // Both charts are drawn by uPlot, served from the package.
    await page.locator("#chart-spend .uplot canvas").waitFor();
    await page.locator("#chart-queue .uplot canvas").waitFor();
    const ntfy = page.locator("#ntfy-card");
    expect(await ntfy.isVisible()).toBe(true);
    expect(await ntfy.textContent()).toContain("HTTP 502 Bad Gateway from ntfy.sh");
    expect(await ntfy.locator('.delivery[data-delivery="sent"]').textContent()).toBe("delivered");

    // Filters, search and paging narrow the list without a reload.
    const info = page.locator("#page-info");
    await expect.poll(() => info.textContent()).toBe("1–50 of 89");
    await page.click("#page-next");
    await expect.poll(() => info.textContent()).toBe("51–89 of 89");
    await page.fill("#filter-text", "inventory");
    await expect.poll(() => info.textContent()).toBe("1–3 of 3");
    await page.selectOption("#filter-role", "qa");
    await expect.poll(() => info.textContent()).toBe("1–1 of 1");
    expect(await page.locator("#task-list .task-title").allTextContents()).toEqual([
      "Test inventory drag and drop",
    ]);
    await page.click("#filter-clear");
    await page.locator('#queue-matrix tfoot .cell-link[data-status="escalated"]').click();
    await expect.poll(() => info.textContent()).toBe("1–1 of 1");
    expect(await page.locator("#filter-status").inputValue()).toBe("escalated");
    await page.click("#filter-clear");
    await expect.poll(() => info.textContent()).toBe("1–50 of 89");

    await page.waitForTimeout(500);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });

    await row(page, "Design the inventory screen").click();
    const panel = page.locator("#task-dialog");
    await panel.locator("#task-body section").first().waitFor();
    expect(await panel.locator("#task-title").textContent()).toBe("Design the inventory screen");
    const body = await panel.locator("#task-body").textContent();
    expect(body).toContain("Grid of 4 columns with drag to reorder");
    expect(body).toContain("docs/design/inventory.md");
    expect(body).toContain('"spec": "docs/spec-');
    expect(body).toContain("claude-sonnet-4-5");
    expect(body).toMatch(/children \(2\)/);
    expect(body).toContain("task.claimed");
    await panel.getByRole("button", { name: "Implement the inventory grid" }).click();
    await expect
      .poll(() => panel.locator("#task-title").textContent())
      .toBe("Implement the inventory grid");
    await panel.getByRole("button", { name: "Design the inventory screen" }).click();
    await expect
      .poll(() => panel.locator("#task-title").textContent())
      .toBe("Design the inventory screen");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-task.png") });
    await panel.locator("[data-close]").click();

    await page.click("#btn-attention-clear");
    await page.locator("#attention-banner").waitFor({ state: "hidden" });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(500);
    // Single column: the side panels sit below the task list, not beside it.
    const tasksBox = await page.locator("#tasks-card").boundingBox();
    const budgetBox = await page.locator("#budget-card").boundingBox();
    expect(budgetBox!.y).toBeGreaterThan(tasksBox!.y + tasksBox!.height - 1);
    expect(budgetBox!.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });

    expect(seeded.failed.status).toBe("failed");
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("files a task through the form, checking the payload, without a reload", async () => {
    const p = await dashboardProject();
    const { page, errors } = await openPage(p.dashboard.url);
    await page.click("#btn-new-task");
    await page.selectOption("#new-task-role", "qa");
    await page.fill("#new-task-title", "Check the save slots");
    await page.fill("#new-task-description", "All three of them.");
    await page.selectOption("#new-task-priority", "2");
    await page.fill("#new-task-payload", "[1, 2]");
    expect(await page.locator("#new-task-error").textContent()).toMatch(
      /payload must be a JSON object/,
    );
    await page.click("#new-task-form button[type=submit]");
    expect(await page.locator("#new-task-dialog").isVisible()).toBe(true);
    expect(await p.ledger.countTasks()).toBe(0);
    await page.fill("#new-task-payload", '{"slots": 3}');
    expect(await page.locator("#new-task-error").isHidden()).toBe(true);
    await page.click("#new-task-form button[type=submit]");
    await row(page, "Check the save slots").waitFor();
    expect(await page.locator("#new-task-dialog").isVisible()).toBe(false);
    const [task] = await p.ledger.listTasks();
    expect(task).toMatchObject({
      agentOwner: "qa",
      title: "Check the save slots",
      description: "All three of them.",
      priority: 2,
      payload: { slots: 3 },
      createdBy: "ui",
    });
    await page.locator('#audit-feed li[data-action="task.created"][data-actor="ui"]').waitFor();
    expect(errors).toEqual([]);
  });

  it("requeues, kills and reroutes tasks, each showing in the audit feed as ui", async () => {
    const p = await dashboardProject();
    const failing = await p.fileTask("code", "Flaky build step");
    const claimed = await p.ledger.claimNext("code");
    await p.ledger.fail(claimed!.id, claimed!.claimToken!, { error: "exit code 2" });
    await p.fileTask("design", "Pointless banner");
    await p.fileTask("design", "Sound effects list");
    const { page, errors } = await openPage(p.dashboard.url);
    const panel = page.locator("#task-dialog");
    const status = panel.locator("#task-badges .status");

    await row(page, "Flaky build step").click();
    await expect.poll(() => status.textContent()).toBe("failed");
    expect(await panel.locator("#task-body").textContent()).toContain("exit code 2");
    await panel.locator("#act-requeue").click();
    await expect.poll(() => status.textContent()).toBe("pending");
    expect(await panel.locator("#act-requeue").isHidden()).toBe(true);
    await panel.locator("[data-close]").click();

    await row(page, "Pointless banner").click();
    await expect.poll(() => panel.locator("#task-title").textContent()).toBe("Pointless banner");
    await panel.locator("#act-kill input[name=reason]").fill("not in scope");
    await panel.locator("#act-kill button").click();
    await expect.poll(() => status.textContent()).toBe("killed");
    await panel.locator("[data-close]").click();

    await row(page, "Sound effects list").click();
    await expect.poll(() => panel.locator("#task-title").textContent()).toBe("Sound effects list");
    await panel.locator("#act-reroute select").selectOption("code");
    await panel.locator("#act-reroute button").click();
    await expect.poll(() => panel.locator("#task-badges .role").textContent()).toBe("code");
    await panel.locator("[data-close]").click();

    const feed = page.locator("#audit-feed");
    for (const action of ["task.requeued", "task.killed", "task.rerouted"]) {
      await feed.locator(`li[data-action="${action}"][data-actor="ui"]`).waitFor();
    }
    expect(await row(page, "Pointless banner").locator(".status").textContent()).toBe("killed");
    expect((await p.ledger.getTask(failing.id))?.status).toBe("pending");
    const audit = await p.ledger.recentAudit(3);
    expect(audit.map((a) => [a.actor, a.action])).toEqual([
      ["ui", "task.rerouted"],
      ["ui", "task.killed"],
      ["ui", "task.requeued"],
    ]);
    expect(errors).toEqual([]);
  });

  it("arms the kill switch with a reason, shows the banner, and disarms it", async () => {
    const p = await dashboardProject();
    const { page, errors } = await openPage(p.dashboard.url);
    await page.click("#btn-arm");
    await page.fill("#arm-reason", "deploy in progress");
    await page.click("#arm-form button[type=submit]");
    const banner = page.locator("#kill-banner");
    await banner.waitFor({ state: "visible" });
    expect(await page.locator("#kill-reason").textContent()).toBe("deploy in progress");
    expect(await page.locator("#kill-meta").textContent()).toMatch(/^armed by ui/);
    expect(await page.locator("#status-pill").textContent()).toBe("halted");
    expect(existsSync(p.config.killSwitch)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-halted.png") });

    await page.click("#btn-banner-disarm");
    await banner.waitFor({ state: "hidden" });
    expect(await page.locator("#status-pill").textContent()).toBe("idle");
    expect(existsSync(p.config.killSwitch)).toBe(false);
    const audit = await p.ledger.recentAudit(2);
    expect(audit.map((a) => [a.actor, a.action])).toEqual([
      ["ui", "killswitch.disarmed"],
      ["ui", "killswitch.armed"],
    ]);
    expect(errors).toEqual([]);
  });

  it("renders agent-written markup as text everywhere, never as HTML", async () => {
    const p = await dashboardProject();
    const task = await p.ledger.insertTask({
      agentOwner: "code",
      title: XSS,
      description: "<script>alert(2)</script><b>bold?</b>",
      payload: { html: "<img src=x onerror=alert(3)>" },
    });
    await p.ledger.recordDecision({
      taskId: task.id,
      agentOwner: "code",
      decisionText: "<iframe src=javascript:alert(4)>",
    });
    const claimed = await p.ledger.claimNext("code");
    await p.ledger.complete(claimed!.id, claimed!.claimToken!, { result: "<svg onload=alert(5)>" });
    await p.ledger.recordNotification({
      kind: "escalation",
      title: XSS,
      message: "<script>alert(6)</script>",
      priority: 3,
      tags: [],
      needsHuman: true,
      sequenceId: null,
    });
    const { page, dialogs, errors } = await openPage(p.dashboard.url);
    await row(page, XSS).waitFor();
    expect(await row(page, XSS).locator(".task-title").textContent()).toBe(XSS);
    expect(await page.locator("#attention-list").textContent()).toContain(XSS);
    await row(page, XSS).click();
    const panel = page.locator("#task-dialog");
    await expect.poll(() => panel.locator("#task-title").textContent()).toBe(XSS);
    const body = await panel.locator("#task-body").textContent();
    expect(body).toContain("<script>alert(2)</script><b>bold?</b>");
    expect(body).toContain("<iframe src=javascript:alert(4)>");
    expect(body).toContain("<svg onload=alert(5)>");
    await panel.locator("[data-close]").click();

    // The morning report lists the task's title in a table: still text.
    await page.click("#btn-report");
    await page.click("#report-form button[type=submit]");
    await page.locator("#report-body h1").waitFor();
    expect(await page.locator("#report-body table").first().textContent()).toBeTruthy();
    expect(await page.locator("#report-body").textContent()).toContain(XSS);

    for (const selector of ['img[src="x"]', "iframe", "svg[onload]", "b", "script:not([src])"]) {
      expect(await page.locator(selector).count(), selector).toBe(0);
    }
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("generates the morning report and shows it rendered; no ntfy panel without a topic", async () => {
    const p = await dashboardProject();
    const task = await p.fileTask("qa", "Run the regression suite");
    const claimed = await p.ledger.claimNext("qa");
    await p.ledger.complete(claimed!.id, claimed!.claimToken!, { costUsd: 0.42 });
    const { page, errors } = await openPage(p.dashboard.url);
    expect(await page.locator("#ntfy-card").isHidden()).toBe(true);
    await page.click("#btn-report");
    await page.click("#report-form button[type=submit]");
    const report = page.locator("#report-body");
    await report.locator("h1").waitFor();
    expect(await report.locator("h1").textContent()).toMatch(/^Morning report: webtest, \d{4}-/);
    expect(await report.locator("h2").allTextContents()).toEqual(
      expect.arrayContaining(["Shipped (1)", "Spend", "Anomalies", "Audit chain"]),
    );
    expect(await report.locator("table").first().locator("th").allTextContents()).toEqual([
      "role",
      "tasks",
      "cost",
    ]);
    expect(await report.locator("code", { hasText: task.id }).count()).toBeGreaterThan(0);
    expect(await report.locator("pre code").last().textContent()).toMatch(
      /^producer audit verify --head [0-9a-f]{64}$/,
    );
    expect(await report.textContent()).not.toContain("| role |");
    expect(await page.locator("#report-path").textContent()).toMatch(
      /^written to agent-state\/morning-report-\d{8}\.md$/,
    );
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-report.png") });
    expect(errors).toEqual([]);
  });

  it("lists open attention items with ids; mark as read resolves only the items it showed", async () => {
    const p = await dashboardProject();
    const raise = (title: string) =>
      p.ledger.recordNotification({
        kind: "escalation",
        title,
        message: `about ${title}`,
        priority: 3,
        tags: [],
        needsHuman: true,
        sequenceId: null,
      });
    // One more than the banner shows: the oldest is not on the page.
    const raised = [];
    for (let i = 0; i <= 10; i++) raised.push(await raise(`item ${i}`));
    const { page } = await openPage(p.dashboard.url);
    const items = page.locator("#attention-list li");
    await expect.poll(() => items.count()).toBe(10);
    const shownIds = await items.evaluateAll((lis) =>
      lis.map((li) => li.getAttribute("data-attention-id")),
    );
    expect(shownIds).toEqual(
      raised
        .slice(1)
        .reverse()
        .map((n) => n.id),
    );
    expect(await items.first().textContent()).toContain(raised[10]!.id);
    expect(await page.locator("#attention-more").textContent()).toMatch(
      /^1 older open item\(s\): producer attention lists them · also in .+needs-attention\.md$/,
    );
    // The page stops hearing from the server; an item arrives that it never shows. The
    // change it is told of (pushed, or found by polling) is what makes it try, fail and say
    // it is offline.
    await page.route("**/api/state*", (route) => route.abort());
    const late = await raise("arrived late");
    await page.locator("#live[data-live=offline]").waitFor();
    await page.click("#btn-attention-clear");
    await expect
      .poll(async () => (await p.ledger.attentionOverview()).open, { timeout: 10_000 })
      .toBe(2);
    expect((await p.ledger.listAttention()).map((i) => i.id)).toEqual([late.id, raised[0]!.id]);
    await page.unroute("**/api/state*");
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBe(2);
    expect(await items.allTextContents()).toEqual([
      expect.stringContaining("arrived late"),
      expect.stringContaining("item 0"),
    ]);
  });

  it("shows a running Producer from its heartbeats, and stopped once it exits", async () => {
    const p = await dashboardProject();
    const run: CliProcess = startCli(["run"], { cwd: p.dir });
    onTestFinished(async () => {
      run.child.kill("SIGKILL");
      await run.exited;
    });
    await run.waitFor(/producer started/);
    const pid = run.child.pid!;
    const { page, errors } = await openPage(p.dashboard.url);
    const mine = page.locator("#producers-list li", { hasText: `pid ${pid}` });
    await mine.locator(".producer-state[data-state=running]").waitFor({ timeout: 15_000 });
    expect(await mine.textContent()).toMatch(
      /running .+ · pid \d+.*since \d{4}-\d\d-\d\d .+last beat/,
    );
    expect(await page.locator("#producers-empty").isHidden()).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator("#producers-card").screenshot({
      path: join(ARTIFACTS, "dashboard-producers.png"),
    });
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    await mine.locator(".producer-state[data-state=stopped]").waitFor({ timeout: 15_000 });
    expect(await mine.textContent()).toContain("stopped");
    expect(errors).toEqual([]);
  });
});
