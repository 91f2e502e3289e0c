import { expect, it } from "vitest";
import { describeInChromium, openPage, taskRow } from "./helpers/browser.js";
import { dashboardProject } from "./helpers/dashboard.js";

describeInChromium("approval gates on the dashboard in Chromium", () => {
  it("lists tasks awaiting approval; Approve there makes one claimable, Deny in its panel kills the other", async () => {
    const p = await dashboardProject();
    const gate = (title: string) =>
      p.ledger.insertTask({ agentOwner: "code", title, requiresApproval: true });
    const deploy = await gate("Deploy to production");
    const wipe = await gate("Wipe the staging data");
    await p.fileTask("design", "Plain work");
    expect(await p.ledger.claimNext("code")).toBeNull();
    const { page, errors } = await openPage(p.dashboard.url);

    const banner = page.locator("#approval-banner");
    await expect.poll(() => banner.isVisible()).toBe(true);
    const items = banner.locator("li");
    expect(await items.count()).toBe(2);
    expect(await page.locator("#tiles").textContent()).toMatch(/approval\s*2\s*awaiting sign-off/);
    expect(await taskRow(page, "Deploy to production").locator(".status").textContent()).toBe(
      "awaiting approval",
    );

    // Deny without a reason is refused, and nothing changes.
    const wipeItem = banner.locator(`li[data-task-id="${wipe.id}"]`);
    await wipeItem.getByRole("button", { name: "Deny" }).click();
    await page
      .locator(".toast[data-tone=error]", { hasText: "Say why in the box next to Deny" })
      .waitFor();
    expect((await p.ledger.getTask(wipe.id))?.status).toBe("awaiting_approval");

    await banner
      .locator(`li[data-task-id="${deploy.id}"]`)
      .getByRole("button", { name: "Approve" })
      .click();
    await expect.poll(async () => (await p.ledger.getTask(deploy.id))?.status).toBe("pending");
    await expect.poll(() => items.count()).toBe(1);
    expect((await p.ledger.claimNext("code"))?.id).toBe(deploy.id);

    await wipeItem.getByRole("button", { name: "Wipe the staging data" }).click();
    const panel = page.locator("#task-dialog");
    await expect
      .poll(() => panel.locator("#task-badges .status").textContent())
      .toBe("awaiting approval");
    expect(await panel.locator("#act-requeue").isHidden()).toBe(true);
    await panel.locator("#act-deny input[name=reason]").fill("staging is in use");
    await panel.locator("#act-deny button").click();
    await expect.poll(() => panel.locator("#task-badges .status").textContent()).toBe("killed");
    expect(await panel.locator("#act-approve").isHidden()).toBe(true);
    await panel.locator("[data-close]").click();
    await expect.poll(() => banner.isHidden()).toBe(true);

    expect(await p.ledger.getTask(wipe.id)).toMatchObject({
      status: "killed",
      lastError: "denied: staging is in use",
    });
    const audit = await p.ledger.recentAudit(20);
    expect(
      audit
        .filter((a) => a.action === "task.approved" || a.action === "task.denied")
        .map((a) => [a.actor, a.action, a.entityId]),
    ).toEqual([
      ["ui", "task.denied", wipe.id],
      ["ui", "task.approved", deploy.id],
    ]);
    expect(errors).toEqual([]);
  });
});
