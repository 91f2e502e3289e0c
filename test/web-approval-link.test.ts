import type { IncomingHttpHeaders } from "node:http";
import { describe, expect, it } from "vitest";
import { HAVE_CHROMIUM, openPage } from "./helpers/browser.js";
import { dashboardProject, http, ShiftedClock } from "./helpers/dashboard.js";
import { fakeNtfy } from "./helpers/ntfy.js";

/** The Approve button's link in the push about `title`, once it has arrived. */
async function linkFor(pushes: { headers: IncomingHttpHeaders }[], title: string) {
  await expect
    .poll(() => pushes.some((p) => String(p.headers.title).includes(title)), { timeout: 10_000 })
    .toBe(true);
  const push = pushes.find((p) => String(p.headers.title).includes(title))!;
  const actions = String(push.headers.actions);
  const match = /^view, Approve, (http:\/\/127\.0\.0\.1:\d+\/approve\/\S+), clear=true$/.exec(
    actions,
  );
  expect(match, actions).not.toBeNull();
  return new URL(match![1]!);
}

describe("approval from an ntfy action button", () => {
  it("pushes an Approve link that approves its task once; tampered, expired and reused links are refused", async () => {
    const ntfy = await fakeNtfy();
    const clock = new ShiftedClock();
    const p = await dashboardProject({
      clock,
      top: `notifications:\n  ntfy_topic: approvals\n  ntfy_server: ${ntfy.url}\n`,
    });
    const origin = `http://127.0.0.1:${p.dashboard.port}`;
    const post = (path: string) => http(p.dashboard, path, { method: "POST", headers: { origin } });
    const deploy = await p.ledger.insertTask({
      agentOwner: "code",
      title: "Deploy to production",
      requiresApproval: true,
    });
    const link = await linkFor(ntfy.received, "Deploy to production");
    expect(link.port).toBe(String(p.dashboard.port));
    const token = link.pathname.split("/").at(-1)!;

    // The ledger keeps only the token's hash: nothing an agent reads there opens the gate.
    const audit = JSON.stringify(await p.ledger.recentAudit(100));
    const notices = JSON.stringify(await p.ledger.listNotifications({ limit: 10 }));
    expect(audit).toContain("approval.requested");
    expect(audit.includes(token) || notices.includes(token)).toBe(false);

    // Opening it shows the task and changes nothing.
    const shown = await http(p.dashboard, link.pathname);
    expect(shown.status).toBe(200);
    expect(shown.text).toContain("Approve this task?");
    expect(shown.text).toContain("Deploy to production");
    expect((await p.ledger.getTask(deploy.id))?.status).toBe("awaiting_approval");

    // One character changed: refused, and still not approved.
    const flipped = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    const tampered = await post(link.pathname.replace(token, flipped));
    expect(tampered.status).toBe(404);
    expect(tampered.text).toContain("this approval link is not valid");
    const otherTask = await post(link.pathname.replace(deploy.id, "01AAAAAAAAAAAAAAAAAAAAAAAA"));
    expect(otherTask.status).toBe(404);
    expect((await p.ledger.getTask(deploy.id))?.status).toBe("awaiting_approval");

    const used = await post(link.pathname);
    expect(used.status).toBe(200);
    expect(used.text).toContain("is pending and will be dispatched");
    expect((await p.ledger.getTask(deploy.id))?.status).toBe("pending");
    const [decision] = await p.ledger.recentAudit(1, deploy.id);
    expect(decision).toMatchObject({ action: "task.approved", actor: "ntfy-link" });
    expect(JSON.parse(decision!.details).reason).toMatch(/^approved from the ntfy link/);

    const again = await post(link.pathname);
    expect(again.status).toBe(409);
    expect(again.text).toContain("already decided");

    // A link a day old is refused, though its task still waits.
    const late = await p.ledger.insertTask({
      agentOwner: "qa",
      title: "Email the customers",
      requiresApproval: true,
    });
    const lateLink = await linkFor(ntfy.received, "Email the customers");
    clock.offsetMs += 24 * 3_600_000 + 1000;
    const expired = await post(lateLink.pathname);
    expect(expired.status).toBe(410);
    expect(expired.text).toContain("this approval link expired at");
    expect((await p.ledger.getTask(late.id))?.status).toBe("awaiting_approval");

    // Each task was asked about once, however often the ledger changed meanwhile.
    expect(
      ntfy.received.filter((x) => String(x.headers.title).includes("Approval needed")),
    ).toHaveLength(2);
    expect(p.errors).toEqual([]);
  });

  it.runIf(HAVE_CHROMIUM)("opened in Chromium, its Approve button approves the task", async () => {
    const ntfy = await fakeNtfy();
    const p = await dashboardProject({
      top: `notifications:\n  ntfy_topic: approvals\n  ntfy_server: ${ntfy.url}\n`,
    });
    const task = await p.ledger.insertTask({
      agentOwner: "design",
      title: "Ship the new logo",
      requiresApproval: true,
    });
    const link = await linkFor(ntfy.received, "Ship the new logo");
    const { page, errors } = await openPage(p.dashboard.url);
    await page.goto(link.toString());
    await page.getByRole("button", { name: "Approve" }).click();
    await page.waitForLoadState();
    const shown = await page.content();
    expect(shown).toContain("<h1>Approved</h1>");
    expect((await p.ledger.getTask(task.id))?.status).toBe("pending");
    expect(errors).toEqual([]);
  });
});
