import { existsSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { loadConfig, TASK_STATUSES, utcToday } from "../src/index.js";
import { runCli, startCli } from "./helpers/cli.js";
import { http } from "./helpers/dashboard.js";
import { histogramCounts, parseMetrics, sampleSum, sampleValue } from "./helpers/metrics.js";
import { describePostgres, scratchSchema } from "./helpers/postgres.js";
import { execCliProject } from "./helpers/producer.js";
import { tempProjectWithLedger } from "./helpers/project.js";
import { tempDir } from "./helpers/temp.js";

const children: { kill(signal?: NodeJS.Signals): void }[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

const LIMITS = { roleCapUsd: 10, ceilingUsd: 30, softCapRatio: 0.8, roleSlots: 2, projectSlots: 4 };

/** One request to a loopback URL with exactly these headers (fetch would not forge Host). */
function request(url: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  const { port, pathname } = new URL(url);
  return http({ port: Number(port) }, pathname, options);
}

/** A port nobody listens on right now, for commands that need one named. */
async function freePort(): Promise<number> {
  const probe: Server = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("producer metrics", () => {
  it("prints the ledger's tasks, spend, holds, caps, brake and Producers in the exposition format", async () => {
    const p = await tempProjectWithLedger(
      "project_name: metrics\nbudget:\n  project_ceiling_usd: 30\nagents:\n  design:\n    daily_cap_usd: 4\n  code:\n    daily_cap_usd: 10\n",
    );
    for (const title of ["a", "b", "c"]) await p.fileTask("design", title);
    const built = await p.fileTask("code", "build");
    const dropped = await p.fileTask("code", "drop");
    await p.ledger.kill(dropped.id, { reason: "not needed" });
    const claimed = (await p.ledger.claimNext("code"))!;
    expect(claimed.id).toBe(built.id);
    await p.ledger.complete(claimed.id, claimed.claimToken!, { costUsd: 1.25 });
    const today = utcToday();
    const spent = await p.ledger.reserveBudget({ day: today, role: "code", minimumUsd: 2 }, LIMITS);
    if (!spent.ok) throw new Error("expected a hold");
    await p.ledger.settleBudget(spent.reservation.id, 1.25, LIMITS);
    const earlier = await p.ledger.reserveBudget(
      { day: "2026-01-02", role: "code", minimumUsd: 2 },
      LIMITS,
    );
    if (!earlier.ok) throw new Error("expected a hold");
    await p.ledger.settleBudget(earlier.reservation.id, 0.5, LIMITS);
    const held = await p.ledger.reserveBudget(
      { day: today, role: "design", minimumUsd: 0.75 },
      LIMITS,
    );
    expect(held.ok).toBe(true);
    await p.ledger.producerStarted({ once: false, pollMs: 60_000 });
    writeFileSync(p.config.killSwitch, "halt for the test\n");

    const result = await runCli(["metrics"], { cwd: p.dir });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const metrics = parseMetrics(result.stdout);

    // Every count the ledger has, and 0 for the rest of the configured roles' statuses.
    const counts = await p.ledger.countByRoleAndStatus();
    for (const role of ["design", "code"]) {
      for (const status of TASK_STATUSES) {
        const expected = counts.find((c) => c.role === role && c.status === status)?.count ?? 0;
        expect(
          sampleValue(metrics, "ai_producer_tasks", { role, status }),
          `${role} ${status}`,
        ).toBe(expected);
      }
    }
    expect(sampleValue(metrics, "ai_producer_tasks", { role: "design", status: "pending" })).toBe(
      3,
    );
    expect(sampleValue(metrics, "ai_producer_tasks", { role: "code", status: "killed" })).toBe(1);

    const budget = await p.ledger.budgetForDay(today);
    for (const role of ["design", "code"]) {
      const row = budget.find((r) => r.role === role);
      expect(sampleValue(metrics, "ai_producer_spend_today_usd", { role })).toBe(
        row?.spentUsd ?? 0,
      );
      expect(sampleValue(metrics, "ai_producer_held_today_usd", { role })).toBe(
        row?.reservedUsd ?? 0,
      );
    }
    expect(sampleValue(metrics, "ai_producer_spend_today_usd", { role: "code" })).toBe(1.25);
    expect(sampleValue(metrics, "ai_producer_held_today_usd", { role: "design" })).toBeGreaterThan(
      0,
    );
    // The whole life's spend: today's and the earlier day's.
    expect(sampleValue(metrics, "ai_producer_spend_usd_total", { role: "code" })).toBe(1.75);
    expect(sampleValue(metrics, "ai_producer_spend_usd_total", { role: "design" })).toBe(0);
    expect(sampleValue(metrics, "ai_producer_role_cap_usd", { role: "design" })).toBe(4);
    expect(sampleValue(metrics, "ai_producer_role_cap_usd", { role: "code" })).toBe(10);
    expect(sampleValue(metrics, "ai_producer_project_ceiling_usd")).toBe(30);
    expect(sampleValue(metrics, "ai_producer_kill_switch_armed")).toBe(1);
    expect(sampleValue(metrics, "ai_producer_producers_running")).toBe(1);
    // This process dispatched nothing: no made-up dispatch counters.
    expect(metrics.has("ai_producer_dispatches_ended_total")).toBe(false);
  });

  it("says the brake is off and no Producer runs on a fresh ledger", async () => {
    const p = await tempProjectWithLedger(
      "project_name: metrics\nagents:\n  code:\n    daily_cap_usd: 3\n",
    );
    await p.ledger.producerStarted({ once: true, pollMs: 1000 });
    await p.ledger.producerStopped();
    const result = await runCli(["metrics"], { cwd: p.dir });
    expect(result.code).toBe(0);
    const metrics = parseMetrics(result.stdout);
    expect(sampleValue(metrics, "ai_producer_kill_switch_armed")).toBe(0);
    expect(sampleValue(metrics, "ai_producer_producers_running")).toBe(0);
    expect(sampleSum(metrics, "ai_producer_tasks")).toBe(0);
  });

  it("refuses a bad --metrics-port with exit 2 before opening anything", async () => {
    const p = await tempProjectWithLedger(
      "project_name: metrics\nagents:\n  code:\n    daily_cap_usd: 3\n",
    );
    for (const port of ["http", "-1", "70000", ""]) {
      const result = await runCli(["run", "--metrics-port", port], { cwd: p.dir });
      expect(result.code, port).toBe(2);
      expect(result.stderr).toBe(
        `producer: --metrics-port must be a whole number from 0 to 65535 (0: any free port), got ${JSON.stringify(port)}\n`,
      );
    }
  });
});

describe("producer run --metrics-port", () => {
  it("serves metrics whose counters move as the run proceeds and never go down", async () => {
    const p = await execCliProject();
    const gate = join(p.dir, "gate");
    await p.ledger.insertTask({
      agentOwner: "code",
      title: "gated",
      payload: { action: "gate", file: gate, cost: 0.03 },
    });
    const run = startCli(["run", "--metrics-port", "0"], { cwd: p.dir, env: p.env });
    children.push(run.child);
    await run.waitFor(/claimed: gated/);
    const url = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(run.stdout())![1]!;

    const first = await request(url);
    expect(first.status).toBe(200);
    expect(first.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const before = parseMetrics(first.text);
    expect(sampleValue(before, "ai_producer_dispatches_started_total", { role: "code" })).toBe(1);
    expect(sampleSum(before, "ai_producer_dispatches_ended_total")).toBe(0);
    expect(sampleValue(before, "ai_producer_dispatches_in_flight")).toBe(1);
    expect(sampleValue(before, "ai_producer_tasks", { role: "code", status: "in_progress" })).toBe(
      1,
    );
    expect(sampleValue(before, "ai_producer_held_today_usd", { role: "code" })).toBeGreaterThan(0);
    expect(sampleValue(before, "ai_producer_producers_running")).toBe(1);
    expect(sampleValue(before, "ai_producer_idle")).toBe(0);
    // The claim and its hold were written: their time is in the write-latency histogram.
    expect(before.get("ai_producer_ledger_write_seconds")?.type).toBe("HISTOGRAM");
    const writes = histogramCounts(first.text, "ai_producer_ledger_write_seconds");
    expect(writes.map((w) => w.labels)).toContain('{operation="claimAndReserve"}');

    // Let the call finish, and give the loop a failure to retry.
    await p.ledger.insertTask({
      agentOwner: "code",
      title: "broken",
      payload: { action: "fail", message: "nope" },
    });
    writeFileSync(gate, "");
    // Two calls may run at once: wait for both ends, in either order.
    await run.waitFor(/done in/);
    await run.waitFor(/retry 1 in/);
    const secondText = (await request(url)).text;
    const second = parseMetrics(secondText);
    expect(
      sampleValue(second, "ai_producer_dispatches_ended_total", {
        role: "code",
        outcome: "succeeded",
      }),
    ).toBe(1);
    expect(
      sampleValue(second, "ai_producer_dispatches_ended_total", { role: "code", outcome: "retry" }),
    ).toBe(1);
    expect(sampleValue(second, "ai_producer_retries_total", { role: "code" })).toBe(1);
    expect(sampleValue(second, "ai_producer_spend_usd_total", { role: "code" })).toBeCloseTo(
      0.03,
      10,
    );
    const spentToday = (await p.ledger.budgetForDay(utcToday())).find((r) => r.role === "code")!;
    expect(sampleValue(second, "ai_producer_spend_today_usd", { role: "code" })).toBe(
      spentToday.spentUsd,
    );
    expect(
      histogramCounts(secondText, "ai_producer_dispatch_duration_seconds").sort((a, b) =>
        b.labels.localeCompare(a.labels),
      ),
    ).toEqual([
      { labels: '{role="code",outcome="succeeded"}', count: 1 },
      { labels: '{role="code",outcome="retry"}', count: 1 },
    ]);
    // No counter of the first scrape went down in the second.
    for (const [name, family] of before) {
      if (family.type !== "COUNTER") continue;
      for (const sample of family.metrics) {
        const later = sampleValue(second, name, sample.labels ?? {});
        expect(later, `${name} ${JSON.stringify(sample.labels)}`).toBeGreaterThanOrEqual(
          Number(sample.value),
        );
      }
    }
    expect(sampleSum(second, "ai_producer_dispatches_started_total")).toBeGreaterThan(
      sampleSum(before, "ai_producer_dispatches_started_total"),
    );

    // Reads only: a POST is told which methods work, and a rebound Host is refused.
    const post = await request(url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
    const port = new URL(url).port;
    const rebound = await request(url, { headers: { Host: `evil.example:${port}` } });
    expect(rebound.status).toBe(403);
    const other = await request(url.replace("/metrics", "/api/state"));
    expect(other.status).toBe(404);

    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it("shows the Producer idle while it has nothing to do, and not once work arrives", async () => {
    const p = await execCliProject("idle_threshold_polls: 2\n");
    const run = startCli(["run", "--metrics-port", "0"], { cwd: p.dir, env: p.env });
    children.push(run.child);
    await run.waitFor(/idle: /);
    const url = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(run.stdout())![1]!;
    expect(sampleValue(parseMetrics((await request(url)).text), "ai_producer_idle")).toBe(1);
    await p.ledger.insertTask({ agentOwner: "code", title: "work at last" });
    await run.waitFor(/back online/);
    expect(sampleValue(parseMetrics((await request(url)).text), "ai_producer_idle")).toBe(0);
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
  });

  it("counts a dispatch whose task was killed while it ran as ended, outcome lost", async () => {
    const p = await execCliProject();
    const gate = join(p.dir, "gate");
    const task = await p.ledger.insertTask({
      agentOwner: "code",
      title: "doomed",
      payload: { action: "gate", file: gate },
    });
    const run = startCli(["run", "--metrics-port", "0"], { cwd: p.dir, env: p.env });
    children.push(run.child);
    await run.waitFor(/claimed: doomed/);
    await p.ledger.kill(task.id, { reason: "changed our minds" });
    writeFileSync(gate, "");
    await run.waitFor(/claim lost/);
    const url = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(run.stdout())![1]!;
    const metrics = parseMetrics((await request(url)).text);
    expect(
      sampleValue(metrics, "ai_producer_dispatches_ended_total", { role: "code", outcome: "lost" }),
    ).toBe(1);
    expect(sampleSum(metrics, "ai_producer_dispatches_ended_total")).toBe(1);
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
  });

  it("says so, exit 1, when the port is taken", async () => {
    const p = await execCliProject();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const { port } = holder.address() as { port: number };
    const result = await runCli(["run", "--once", "--metrics-port", String(port)], {
      cwd: p.dir,
      env: p.env,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `producer: port ${port} on 127.0.0.1 is taken: choose another with --metrics-port (0 picks a free one)\n`,
    );
  });
});

describe("producer ui: GET /metrics", () => {
  it("serves the ledger's metrics without a token, behind the Host check, reads only", async () => {
    const p = await tempProjectWithLedger(
      "project_name: metrics\nagents:\n  design:\n    daily_cap_usd: 4\n  code:\n    daily_cap_usd: 10\n",
    );
    await p.fileTask("code", "one");
    await p.fileTask("code", "two");
    const port = await freePort();
    const ui = startCli(["ui", "--port", String(port), "--no-browser"], { cwd: p.dir });
    children.push(ui.child);
    await ui.waitFor(/dashboard of metrics/);
    const url = `http://127.0.0.1:${port}/metrics`;
    const got = await request(url);
    expect(got.status).toBe(200);
    expect(got.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const metrics = parseMetrics(got.text);
    expect(sampleValue(metrics, "ai_producer_tasks", { role: "code", status: "pending" })).toBe(2);
    expect(sampleValue(metrics, "ai_producer_role_cap_usd", { role: "code" })).toBe(10);
    // A task filed after the first scrape is in the next: read at scrape time.
    await p.fileTask("code", "three");
    const again = parseMetrics((await request(url)).text);
    expect(sampleValue(again, "ai_producer_tasks", { role: "code", status: "pending" })).toBe(3);

    const post = await request(url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
    const rebound = await request(url, { headers: { Host: `rebound.example:${port}` } });
    expect(rebound.status).toBe(403);
    ui.child.kill("SIGINT");
    expect(await ui.exited).toBe(0);
  });
});

describePostgres("producer metrics on a PostgreSQL ledger", () => {
  it("reads the schema's tasks and the team's brake, kept in the ledger", async () => {
    const { url } = await scratchSchema("metrics");
    const dir = tempDir("pg-metrics-");
    const init = await runCli(["init", "--non-interactive", "--ledger-url", url], { cwd: dir });
    expect(init.code).toBe(0);
    for (const title of ["one", "two"]) {
      const added = await runCli(["task", "add", "--agent", "code", "--title", title], {
        cwd: dir,
      });
      expect(added.code).toBe(0);
    }
    expect((await runCli(["kill", "maintenance"], { cwd: dir })).code).toBe(0);
    // On a ledger shared by hosts the brake is its audit rows, not a file of this host.
    const config = await loadConfig(join(dir, "producer.yaml"));
    expect(existsSync(config.killSwitch)).toBe(false);
    const result = await runCli(["metrics"], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const metrics = parseMetrics(result.stdout);
    expect(sampleValue(metrics, "ai_producer_tasks", { role: "code", status: "pending" })).toBe(2);
    expect(sampleSum(metrics, "ai_producer_tasks")).toBe(2);
    expect(sampleValue(metrics, "ai_producer_kill_switch_armed")).toBe(1);
    expect(sampleSum(metrics, "ai_producer_spend_usd_total")).toBe(0);
  });
});
