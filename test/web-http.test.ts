import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { KillSwitchWatcher, needsAttentionPath, ProjectNotifier } from "../src/index.js";
import type { DashboardState } from "../src/web/state.js";
import { runCli } from "./helpers/cli.js";
import { dashboardProject, http, pageHeaders, WEB_ROLES, webYaml } from "./helpers/dashboard.js";
import { tempProjectWithLedger } from "./helpers/project.js";

type ErrorBody = { error: string };

describe("dashboard HTTP: what it serves", () => {
  it("serves the page with its token, strict security headers and local assets only", async () => {
    const p = await dashboardProject();
    const page = await http(p.dashboard, "/");
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<meta name="producer-token" content="${p.dashboard.token}"`);
    expect(page.text).not.toMatch(/https?:\/\//);
    // No inline script: everything the page runs is a file of its own origin.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'self'/);
    expect(page.headers["content-security-policy"]).toMatch(/script-src 'self'(;|$)/);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect(page.headers["x-frame-options"]).toBe("DENY");
    for (const path of [
      "/static/app.js",
      "/static/app.css",
      "/vendor/uPlot.iife.min.js",
      "/vendor/uPlot.min.css",
    ]) {
      const asset = await http(p.dashboard, path);
      expect(asset.status, path).toBe(200);
      expect(asset.headers["x-content-type-options"]).toBe("nosniff");
    }
    // Every file of the page is served (a file left out of the list would 404 in the browser).
    for (const file of readdirSync(join(import.meta.dirname, "..", "src", "web", "static"))) {
      if (file === "index.html") continue;
      const asset = await http(p.dashboard, `/static/${file}`);
      expect(asset.status, file).toBe(200);
      expect(asset.headers["content-type"], file).toMatch(/^(text\/(css|javascript)|image\/svg)/);
    }
    const missing = await http(p.dashboard, "/static/nothing.js");
    expect(missing.status).toBe(404);
    expect(missing.json<ErrorBody>().error).toMatch(/not found/);
    expect(p.dashboard.url).toBe(`http://127.0.0.1:${p.dashboard.port}/`);
  });

  it("answers /api/state with the queue, budget and feeds; no ntfy panel without a topic", async () => {
    const p = await dashboardProject();
    await p.fileTask("code", "Write the parser");
    await p.fileTask("qa", "Test the parser");
    const state = (await http(p.dashboard, "/api/state")).json<DashboardState>();
    expect(state.project).toMatchObject({ name: "webtest", roles: WEB_ROLES });
    expect(state.status).toBe("idle");
    expect(state.queue.byStatus.pending).toBe(2);
    expect(state.queue.ready).toBe(2);
    expect(state.tasks.items.map((t) => t.title)).toEqual(["Test the parser", "Write the parser"]);
    expect(state.budget.roles.map((r) => r.role)).toEqual(WEB_ROLES);
    expect(state.audit[0]?.action).toBe("task.created");
    expect(state.ntfy).toBeNull();
    const filtered = (
      await http(p.dashboard, "/api/state?role=qa&q=parser")
    ).json<DashboardState>();
    expect(filtered.tasks.total).toBe(1);
    const bad = await http(p.dashboard, "/api/state?status=sleeping");
    expect(bad.status).toBe(400);
    expect(bad.json<ErrorBody>().error).toMatch(/status must be one of awaiting_approval, pending/);
  });

  it("mirrors notifications in an ntfy panel when a topic is set", async () => {
    const p = await dashboardProject({ top: "notifications:\n  ntfy_topic: web-test-topic\n" });
    const record = await p.ledger.recordNotification({
      kind: "idle",
      title: "Queue idle",
      message: "nothing to do",
      priority: 3,
      tags: [],
      needsHuman: true,
      sequenceId: null,
    });
    await p.ledger.setNotificationDelivery(record.id, "failed", "HTTP 502 from ntfy");
    const state = (await http(p.dashboard, "/api/state")).json<DashboardState>();
    expect(state.ntfy?.topic).toBe("web-test-topic");
    expect(state.ntfy?.items[0]).toMatchObject({
      title: "Queue idle",
      delivery: "failed",
      deliveryError: "HTTP 502 from ntfy",
    });
  });
});

describe("dashboard HTTP: who may talk to it", () => {
  it("refuses a foreign Host (DNS rebinding) with 403, on pages and API alike", async () => {
    const p = await dashboardProject();
    for (const path of ["/", "/api/state", "/static/app.js"]) {
      const res = await http(p.dashboard, path, {
        headers: { host: `evil.example:${p.dashboard.port}` },
      });
      expect(res.status, path).toBe(403);
      expect(res.json<ErrorBody>().error).toMatch(/Host "evil\.example:\d+" is not this dashboard/);
      expect(res.headers["content-security-policy"]).toBeDefined();
    }
    const wrongPort = await http(p.dashboard, "/", { headers: { host: "127.0.0.1:1" } });
    expect(wrongPort.status).toBe(403);
    const local = await http(p.dashboard, "/api/state", {
      headers: { host: `localhost:${p.dashboard.port}` },
    });
    expect(local.status).toBe(200);
  });

  it("refuses a change without the token, with a wrong one, from another origin or none", async () => {
    const p = await dashboardProject();
    const body = { role: "code", title: "sneaky" };
    const origin = `http://127.0.0.1:${p.dashboard.port}`;
    const attempts: [string, Record<string, string>, RegExp][] = [
      ["no token", { origin }, /missing or wrong X-Producer-Token/],
      ["wrong token", { origin, "x-producer-token": "guess" }, /missing or wrong X-Producer-Token/],
      [
        "foreign origin",
        { origin: "http://evil.example", "x-producer-token": p.dashboard.token },
        /cross-origin request \(Origin "http:\/\/evil\.example"/,
      ],
      ["no origin", { "x-producer-token": p.dashboard.token }, /Origin missing/],
      [
        "cross-site fetch",
        { origin, "x-producer-token": p.dashboard.token, "sec-fetch-site": "cross-site" },
        /cross-site request/,
      ],
    ];
    for (const [what, headers, message] of attempts) {
      const res = await http(p.dashboard, "/api/tasks", { method: "POST", headers, body });
      expect(res.status, what).toBe(403);
      expect(res.json<ErrorBody>().error, what).toMatch(message);
    }
    expect(await p.ledger.countTasks()).toBe(0);
  });

  it("files a task with token and origin, attributed and audited as ui", async () => {
    const p = await dashboardProject();
    const res = await http(p.dashboard, "/api/tasks", {
      method: "POST",
      headers: pageHeaders(p.dashboard),
      body: {
        role: "design",
        title: "Sketch the menu",
        description: "three options",
        priority: 2,
        payload: '{"screens": 3}',
      },
    });
    expect(res.status).toBe(201);
    const { task } = res.json<{ task: { id: string } }>();
    const stored = await p.ledger.getTask(task.id);
    expect(stored).toMatchObject({
      agentOwner: "design",
      title: "Sketch the menu",
      priority: 2,
      payload: { screens: 3 },
      createdBy: "ui",
    });
    const [audit] = await p.ledger.recentAudit(1, task.id);
    expect(audit).toMatchObject({ actor: "ui", action: "task.created" });
  });
});

describe("dashboard HTTP: methods", () => {
  it("answers 405 with Allow for a known path and a wrong method; unknown paths stay 404", async () => {
    const p = await dashboardProject();
    const task = await p.fileTask("code");
    const cases: [string, string, string][] = [
      ["DELETE", "/api/state", "GET, HEAD"],
      ["PUT", "/api/state", "GET, HEAD"],
      ["POST", "/api/state", "GET, HEAD"],
      ["POST", "/", "GET, HEAD"],
      ["DELETE", "/static/app.js", "GET, HEAD"],
      ["PATCH", `/api/tasks/${task.id}`, "GET, HEAD"],
      ["GET", "/api/killswitch/arm", "POST"],
      ["GET", "/api/report", "POST"],
      ["GET", "/api/attention/clear", "POST"],
      ["DELETE", `/api/tasks/${task.id}/kill`, "POST"],
      // /api/tasks is read as a task id under GET and filed to under POST.
      ["DELETE", "/api/tasks", "POST"],
      ["POST", "/api/events", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      // With the page's own token and origin: the answer is about the method, not the guard.
      for (const headers of [pageHeaders(p.dashboard), {}]) {
        const res = await http(p.dashboard, path, { method, headers });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.allow, `${method} ${path}`).toBe(allow);
        expect(res.json<ErrorBody>().error).toBe(
          `${method} is not allowed on ${path} (use ${allow})`,
        );
        expect(res.headers["content-security-policy"]).toBeDefined();
      }
    }
    for (const [method, path] of [
      ["GET", "/api/nothing"],
      ["GET", "/nothing"],
      ["POST", "/api/nothing"],
      ["DELETE", "/api/killswitch"],
    ] as const) {
      const res = await http(p.dashboard, path, { method, headers: pageHeaders(p.dashboard) });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.allow).toBeUndefined();
    }
    // HEAD works wherever GET does; a foreign Host is refused before any method talk.
    expect((await http(p.dashboard, "/api/state", { method: "HEAD" })).status).toBe(200);
    const rebound = await http(p.dashboard, "/api/state", {
      method: "DELETE",
      headers: { host: `evil.example:${p.dashboard.port}` },
    });
    expect(rebound.status).toBe(403);
    expect((await p.ledger.getTask(task.id))?.status).toBe("pending");
  });
});

describe("dashboard HTTP: bad input and refusals", () => {
  it("answers 400 with a message for bad JSON, bad payloads and bad fields", async () => {
    const p = await dashboardProject();
    const post = (body: unknown) =>
      http(p.dashboard, "/api/tasks", { method: "POST", headers: pageHeaders(p.dashboard), body });
    const cases: [unknown, RegExp][] = [
      ["{not json", /request body is not valid JSON/],
      ["[1, 2]", /request body must be a JSON object/],
      [{ role: "code", title: "x", payload: "{oops" }, /payload is not valid JSON/],
      [{ role: "code", title: "x", payload: "[1]" }, /payload must be a JSON object.*got an array/],
      [{ role: "code", title: "x", payload: "42" }, /payload must be a JSON object.*got number/],
      [
        { role: "wizard", title: "x" },
        /role must be one of producer, design, code, qa, got "wizard"/,
      ],
      [{ role: "code", title: "   " }, /title is required/],
      [{ role: "code", title: "x", priority: 12 }, /priority must be a whole number from 1/],
      [{ role: "code", title: "two\nlines" }, /title must be a single line/],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json<ErrorBody>().error).toMatch(message);
    }
    const huge = await post({ role: "code", title: "x", description: "y".repeat(1_100_000) });
    expect(huge.status).toBe(413);
    expect(huge.json<ErrorBody>().error).toMatch(/larger than/);
    expect(await p.ledger.countTasks()).toBe(0);
  });

  it("answers 404 for an unknown task id and 409 for a transition its status forbids", async () => {
    const p = await dashboardProject();
    const task = await p.fileTask("code");
    const missing = await http(p.dashboard, "/api/tasks/01NOSUCHTASK");
    expect(missing.status).toBe(404);
    expect(missing.json<ErrorBody>().error).toBe('no task with id "01NOSUCHTASK"');
    for (const change of ["requeue", "kill", "reroute"]) {
      const res = await http(p.dashboard, `/api/tasks/01NOSUCHTASK/${change}`, {
        method: "POST",
        headers: pageHeaders(p.dashboard),
        body: { reason: "why not", role: "qa" },
      });
      expect(res.status, change).toBe(404);
      expect(res.json<ErrorBody>().error).toBe('no task with id "01NOSUCHTASK"');
    }
    const requeue = await http(p.dashboard, `/api/tasks/${task.id}/requeue`, {
      method: "POST",
      headers: pageHeaders(p.dashboard),
    });
    expect(requeue.status).toBe(409);
    expect(requeue.json<ErrorBody>().error).toMatch(
      `cannot requeue task ${task.id}: it is pending`,
    );
    const noReason = await http(p.dashboard, `/api/tasks/${task.id}/kill`, {
      method: "POST",
      headers: pageHeaders(p.dashboard),
      body: {},
    });
    expect(noReason.status).toBe(400);
    expect(noReason.json<ErrorBody>().error).toBe("reason is required");
    const badRole = await http(p.dashboard, `/api/tasks/${task.id}/reroute`, {
      method: "POST",
      headers: pageHeaders(p.dashboard),
      body: { role: "wizard" },
    });
    expect(badRole.status).toBe(400);
    expect((await p.ledger.getTask(task.id))?.status).toBe("pending");
  });

  it("approves and denies only with the page's token, a denial only with a reason", async () => {
    const p = await dashboardProject();
    const plain = await p.fileTask("code");
    const gated = await p.ledger.insertTask({
      agentOwner: "code",
      title: "gated",
      requiresApproval: true,
    });
    const act = (id: string, change: string, body: unknown, headers = pageHeaders(p.dashboard)) =>
      http(p.dashboard, `/api/tasks/${id}/${change}`, { method: "POST", headers, body });
    const tokenless = await act(gated.id, "approve", {}, { Origin: p.dashboard.url });
    expect(tokenless.status).toBe(403);
    const noReason = await act(gated.id, "deny", { reason: " \n " });
    expect(noReason.status).toBe(400);
    expect(noReason.json<ErrorBody>().error).toBe("reason is required");
    const notGated = await act(plain.id, "approve", {});
    expect(notGated.status).toBe(409);
    expect(notGated.json<ErrorBody>().error).toBe(
      `cannot approve task ${plain.id}: it is pending (approve works on awaiting approval tasks)`,
    );
    expect((await p.ledger.getTask(gated.id))?.status).toBe("awaiting_approval");
    const approved = await act(gated.id, "approve", { reason: "looks fine" });
    expect(approved.status).toBe(200);
    expect(approved.json<{ task: { status: string } }>().task.status).toBe("pending");
    const [row] = await p.ledger.recentAudit(1, gated.id);
    expect(row).toMatchObject({ actor: "ui", action: "task.approved" });
    expect(JSON.parse(row!.details)).toMatchObject({ reason: "looks fine" });
  });

  it("kills, requeues and reroutes through the ledger, each audited as ui", async () => {
    const p = await dashboardProject();
    const task = await p.fileTask("code");
    const act = (change: string, body: unknown) =>
      http(p.dashboard, `/api/tasks/${task.id}/${change}`, {
        method: "POST",
        headers: pageHeaders(p.dashboard),
        body,
      });
    expect((await act("kill", { reason: "not needed\nafter all" })).status).toBe(200);
    expect((await p.ledger.getTask(task.id))?.status).toBe("killed");
    expect((await act("requeue", {})).status).toBe(200);
    const rerouted = await act("reroute", { role: "qa" });
    expect(rerouted.status).toBe(200);
    expect(rerouted.json<{ task: { agentOwner: string } }>().task.agentOwner).toBe("qa");
    const audit = await p.ledger.recentAudit(3, task.id);
    expect(audit.map((a) => [a.actor, a.action])).toEqual([
      ["ui", "task.rerouted"],
      ["ui", "task.requeued"],
      ["ui", "task.killed"],
    ]);
    expect(JSON.parse(audit[2]!.details)).toMatchObject({ reason: "not needed after all" });
    const detail = (await http(p.dashboard, `/api/tasks/${task.id}`)).json<{
      task: { agentOwner: string };
      audit: unknown[];
    }>();
    expect(detail.task.agentOwner).toBe("qa");
    expect(detail.audit).toHaveLength(4);
  });

  it("arms and disarms the kill switch as ui, audited, and writes the morning report", async () => {
    const p = await dashboardProject();
    const headers = pageHeaders(p.dashboard);
    const empty = await http(p.dashboard, "/api/killswitch/arm", {
      method: "POST",
      headers,
      body: {},
    });
    expect(empty.status).toBe(400);
    const armed = await http(p.dashboard, "/api/killswitch/arm", {
      method: "POST",
      headers,
      body: { reason: "budget review" },
    });
    expect(armed.status).toBe(200);
    expect(new KillSwitchWatcher(p.config.killSwitch).state()).toMatchObject({
      reason: "budget review",
      by: "ui",
    });
    const state = (await http(p.dashboard, "/api/state")).json<DashboardState>();
    expect(state.status).toBe("halted");
    expect(state.killSwitch?.reason).toBe("budget review");
    const disarmed = await http(p.dashboard, "/api/killswitch/disarm", { method: "POST", headers });
    expect(disarmed.json<{ previous: { reason: string } }>().previous.reason).toBe("budget review");
    expect(existsSync(p.config.killSwitch)).toBe(false);
    const audit = await p.ledger.recentAudit(2);
    expect(audit.map((a) => [a.actor, a.action])).toEqual([
      ["ui", "killswitch.disarmed"],
      ["ui", "killswitch.armed"],
    ]);

    const report = await http(p.dashboard, "/api/report", { method: "POST", headers, body: {} });
    expect(report.status).toBe(200);
    const written = report.json<{ path: string; markdown: string }>();
    expect(written.path).toMatch(/^agent-state\/morning-report-\d{8}\.md$/);
    expect(existsSync(join(p.dir, written.path))).toBe(true);
    expect(written.markdown).toMatch(/^# Morning report: webtest/);
    const badDay = await http(p.dashboard, "/api/report", {
      method: "POST",
      headers,
      body: { day: "2026-02-30" },
    });
    expect(badDay.status).toBe(400);
    expect(badDay.json<ErrorBody>().error).toMatch(/day must be a calendar day/);
    expect(p.errors).toEqual([]);
  });
});

describe("dashboard HTTP: needs attention", () => {
  it("lists open items with their ids, and mark as read resolves exactly the ids sent", async () => {
    const p = await dashboardProject();
    const notifier = new ProjectNotifier(p.ledger, p.config);
    for (const title of ["Queue idle", "qa hit its daily cap", "Escalated: physics"]) {
      await notifier.notify({ kind: "idle", title, message: `about ${title}`, needsHuman: true });
    }
    const state = (await http(p.dashboard, "/api/state")).json<DashboardState>();
    expect(state.attention?.open).toBe(3);
    expect(state.attention?.path).toBe(needsAttentionPath(p.config));
    const shown = state.attention!.items;
    expect(shown.map((e) => e.title)).toEqual([
      "Escalated: physics",
      "qa hit its daily cap",
      "Queue idle",
    ]);
    expect(shown[0]?.message).toBe("about Escalated: physics");
    // One more arrives after the page drew its list: marking the list read leaves it open.
    const late = await notifier.notify({
      kind: "escalation",
      title: "Escalated: audio",
      message: "m",
      needsHuman: true,
    });
    const headers = pageHeaders(p.dashboard);
    const post = (body: unknown) =>
      http(p.dashboard, "/api/attention/clear", { method: "POST", headers, body });
    const bad = await post({ seen: 3 });
    expect(bad.status).toBe(400);
    expect(bad.json<ErrorBody>().error).toBe(
      "ids must be a list of 1 to 100 attention ids, as /api/state lists them",
    );
    const unknown = await post({ ids: [shown[0]!.id, "01NOSUCHITEM0000000000000Z"] });
    expect(unknown.status).toBe(404);
    expect(unknown.json<ErrorBody>().error).toBe(
      'no attention item with id "01NOSUCHITEM0000000000000Z"',
    );
    expect((await p.ledger.attentionOverview()).open).toBe(4);

    // One of the shown items was resolved meanwhile (by the CLI): skipped, not refused.
    await p.ledger.resolveAttention({ ids: [shown[2]!.id] }, { actor: "cli" });
    const cleared = await post({ ids: shown.map((e) => e.id) });
    expect(cleared.status).toBe(200);
    expect(cleared.json()).toEqual({ resolved: [shown[0]!.id, shown[1]!.id] });
    expect((await p.ledger.listAttention()).map((i) => i.id)).toEqual([late!.id]);
    const [row] = await p.ledger.recentAudit(1);
    expect(row).toMatchObject({ actor: "ui", action: "attention.resolved" });
    expect(JSON.parse(row!.details).note).toBe("marked as read on the dashboard");
    // The file follows: only the late item is left in it.
    const file = readFileSync(needsAttentionPath(p.config), "utf8");
    expect(file.split("\n").filter((l) => l.startsWith("## "))).toEqual([
      expect.stringMatching(new RegExp(`^## ${late!.id} · \\S+ · Escalated: audio$`)),
    ]);
    await post({ ids: [late!.id] });
    expect(existsSync(needsAttentionPath(p.config))).toBe(false);
    expect((await http(p.dashboard, "/api/state")).json<DashboardState>().attention).toBeNull();
  });
});

describe("dashboard HTTP: ports", () => {
  it("hunts from 5050 up, so dashboards side by side get different ports", async () => {
    const a = await dashboardProject();
    const b = await dashboardProject();
    expect(a.dashboard.port).toBeGreaterThanOrEqual(5050);
    expect(b.dashboard.port).toBeGreaterThanOrEqual(5050);
    expect(a.dashboard.port).not.toBe(b.dashboard.port);
    expect((await http(b.dashboard, "/api/state")).json<DashboardState>().project.name).toBe(
      "webtest",
    );
  });

  it("makes a taken --port an error of the built binary, exit 1", async () => {
    const project = await tempProjectWithLedger(webYaml());
    await project.ledger.close();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const port = (holder.address() as { port: number }).port;
    const result = await runCli(["ui", "--port", String(port), "--no-browser"], {
      cwd: project.dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `port ${port} on 127.0.0.1 is taken: choose another with --port, or leave it out to pick a free one`,
    );
    const usage = await runCli(["ui", "--port", "http", "--no-browser"], { cwd: project.dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--port must be a whole number/);
  });
});

describe("dashboard HTTP: a big ledger", () => {
  it("answers /api/state on 100,000 tasks with one page of tasks and exact counts", async () => {
    const p = await dashboardProject();
    const db = new Database(p.config.ledgerDb);
    const statuses = ["pending", "done", "failed", "escalated", "killed"] as const;
    const insert = db.prepare(
      `INSERT INTO tasks (id, agent_owner, title, status, cost_usd, created_by, created_at, updated_at, finished_at)
       VALUES (?, ?, ?, ?, 0.01, 'fixture', ?, ?, ?)`,
    );
    const start = Date.now() - 10 * 86_400_000;
    db.transaction(() => {
      for (let i = 0; i < 100_000; i++) {
        const at = new Date(start + i * 8000).toISOString();
        const status = statuses[i % statuses.length]!;
        insert.run(
          `T${String(i).padStart(8, "0")}`,
          i % 2 ? "code" : "qa",
          `fixture task ${i}`,
          status,
          at,
          at,
          status === "pending" ? null : at,
        );
      }
    })();
    db.close();

    const res = await http(p.dashboard, "/api/state");
    expect(res.status).toBe(200);
    const state = res.json<DashboardState>();
    expect(state.tasks.items).toHaveLength(50);
    expect(state.tasks.total).toBe(100_000);
    expect(state.tasks.items[0]?.id).toBe("T00099999");
    expect(state.queue.total).toBe(100_000);
    expect(state.queue.byStatus).toMatchObject({
      pending: 20_000,
      done: 20_000,
      failed: 20_000,
      escalated: 20_000,
      killed: 20_000,
    });
    expect(state.queue.byRole.find((r) => r.role === "code")?.total).toBe(50_000);
    expect(state.audit.length).toBeLessThanOrEqual(30);

    const page = (
      await http(p.dashboard, "/api/state?status=failed&role=code&offset=50")
    ).json<DashboardState>();
    expect(page.tasks.items).toHaveLength(50);
    expect(page.tasks.total).toBe(10_000);
    expect(page.tasks.items.every((t) => t.status === "failed" && t.role === "code")).toBe(true);

    const charts = await http(p.dashboard, "/api/charts?range=14d");
    expect(charts.status).toBe(200);
    const queue = charts.json<{ queue: { created: number[]; depth: number[] } }>().queue;
    expect(queue.created.reduce((a, b) => a + b, 0)).toBe(100_000);
    expect(queue.depth.at(-1)).toBe(20_000);
  });
});
