import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import {
  BudgetTracker,
  type ClaimEnd,
  type Clock,
  type Ledger,
  LedgerClient,
  type ProducerConfig,
  ProjectNotifier,
  type Task,
} from "../../src/index.js";
import type { LiveOptions } from "../../src/web/live.js";
import { type Dashboard, startDashboard } from "../../src/web/server.js";
import { configFrom } from "./config.js";
import { tempDir } from "./temp.js";

/** The roles of every dashboard test project. */
export const WEB_ROLES = ["producer", "design", "code", "qa"];

/** producer.yaml of a dashboard test project; `top` goes above `agents:`. */
export function webYaml(top = ""): string {
  const caps: Record<string, number> = { producer: 5, design: 4, code: 10, qa: 2 };
  return `project_name: webtest\n${top}agents:\n${WEB_ROLES.map((r) => `  ${r}:\n    daily_cap_usd: ${caps[r]}\n`).join("")}`;
}

/**
 * A project with a ledger and its dashboard running; both closed after the test. The ledger
 * is a SQLite file unless `ledgerUrl` names a PostgreSQL schema.
 */
export async function dashboardProject(
  options: {
    top?: string;
    port?: number;
    clock?: Clock;
    live?: LiveOptions;
    ledgerUrl?: string;
  } = {},
) {
  const dir = tempDir("producer-web-");
  const yaml = webYaml(options.top);
  writeFileSync(join(dir, "producer.yaml"), yaml);
  const config: ProducerConfig = configFrom(yaml, dir);
  for (const role of Object.values(config.agents)) {
    mkdirSync(join(role.prompt, ".."), { recursive: true });
    writeFileSync(role.prompt, `You are the ${role.name} agent.\n`);
  }
  const ledger = await LedgerClient.open({
    ...(options.ledgerUrl ? { ledgerUrl: options.ledgerUrl } : { dbPath: config.ledgerDb }),
    roles: Object.keys(config.agents),
    actor: "test",
    clock: options.clock,
  });
  const errors: string[] = [];
  const dashboard = await startDashboard({
    config,
    ledger,
    port: options.port,
    clock: options.clock,
    live: options.live,
    onError: (message) => errors.push(message),
  });
  onTestFinished(async () => {
    await dashboard.close();
    await ledger.close();
  });
  const fileTask = (agentOwner: string, title = "Build the thing"): Promise<Task> =>
    ledger.insertTask({ agentOwner, title, description: "Make it work.", payload: { n: 1 } });
  return { dir, config, ledger, dashboard, errors, fileTask };
}

/**
 * A clock that starts at `startMs` (default: now) and runs at real speed from there, moved by
 * `offsetMs` on top: seed the past, then come back to now.
 */
export class ShiftedClock implements Clock {
  offsetMs = 0;
  private readonly baseMs: number;
  constructor(startMs: number = Date.now()) {
    this.baseMs = startMs - Date.now();
  }
  now(): number {
    return Date.now() + this.baseMs + this.offsetMs;
  }
}

/**
 * Where a test's clock starts: `PRODUCER_TEST_NOW` when set (an ISO-8601 instant, or `HH:MM`
 * for that UTC time today), else `fallback` (`HH:MM` the same way).
 */
export function testClockStart(fallback: string, env = process.env): number {
  const given = env.PRODUCER_TEST_NOW?.trim() || fallback;
  const time = /^(\d{2}):(\d{2})$/.exec(given);
  const ms = time
    ? Math.floor(Date.now() / DAY_MS) * DAY_MS + (Number(time[1]) * 60 + Number(time[2])) * 60_000
    : Date.parse(given);
  if (!Number.isFinite(ms)) {
    throw new Error(`PRODUCER_TEST_NOW must be an ISO-8601 instant or HH:MM (UTC), got "${given}"`);
  }
  return ms;
}

const DAY_MS = 86_400_000;

/**
 * Fills a project's ledger with two weeks of work: spend every day, tasks in every status, a
 * soft cap and a [CAP HIT], a decision, an asset, a parent with children, notifications and a
 * needs-attention note. Everything goes through the ledger's own calls.
 */
export async function seedLedger(
  p: { ledger: LedgerClient; config: ProducerConfig },
  clock: ShiftedClock,
): Promise<{ failed: Task; escalated: Task; pending: Task; parent: Task }> {
  const { ledger, config } = p;
  const budget = new BudgetTracker(ledger, config, { clock, warn: () => {} });
  const DAY = DAY_MS;
  clock.offsetMs = 0;
  const now = clock.now();
  // "Today" is the UTC day of `now`, however little of it has passed: today's work fits
  // between midnight (or two hours ago, if later) and now, in even steps.
  const todayFrom = Math.max(now - (now % DAY), now - 2 * 3_600_000);
  let step = 60_000;
  let n = 0;
  const dispatch = async (
    role: string,
    title: string,
    cost: number,
    end: ClaimEnd = { kind: "done" },
    extra: { parentTaskId?: string; description?: string } = {},
  ): Promise<Task> => {
    n++;
    const filed = await ledger.insertTask(
      {
        agentOwner: role,
        title,
        description: extra.description ?? `Seeded task ${n} for ${role}.`,
        payload: { seed: n, spec: `docs/spec-${n}.md` },
        priority: 1 + (n % 9),
        parentTaskId: extra.parentTaskId ?? null,
        createdBy: extra.parentTaskId ? role : "cli",
      },
      { actor: extra.parentTaskId ? role : "cli" },
    );
    const funded = await budget.claimAndReserve(role);
    if (funded.kind !== "claimed") return filed;
    clock.offsetMs += step;
    await ledger.finishClaim(
      funded.task.id,
      funded.task.claimToken!,
      end,
      {
        costUsd: cost,
        usage: { inputTokens: 1200 + n * 37, outputTokens: 300 + n * 11 },
        model: "claude-sonnet-4-5",
        result: end.kind === "done" ? `Delivered ${title.toLowerCase()}.` : null,
      },
      {
        actor: "producer",
        settle: { reservationId: funded.reservation.id, limits: budget.limitsFor(role) },
      },
    );
    return (await ledger.getTask(filed.id))!;
  };

  const roles = ["design", "code", "qa"];
  for (let day = 13; day >= 1; day--) {
    clock.offsetMs = -day * DAY - 3 * 3_600_000;
    for (const [i, role] of roles.entries()) {
      const runs = 1 + ((day + i) % 3);
      for (let r = 0; r < runs; r++) {
        await dispatch(role, `${role} work ${day}.${r}`, 0.12 + ((day * 7 + i * 3 + r) % 10) / 10);
      }
    }
  }
  clock.offsetMs = todayFrom - now;
  step = Math.floor((now - todayFrom) / 16);
  const parent = await dispatch("design", "Design the inventory screen", 0.84);
  await ledger.recordDecision(
    {
      taskId: parent.id,
      agentOwner: "design",
      kind: "layout",
      decisionText: "Grid of 4 columns with drag to reorder",
      rationale: "Matches the spec; works on small phones.",
    },
    { actor: "design" },
  );
  await ledger.registerAsset(
    {
      taskId: parent.id,
      agentOwner: "design",
      path: "docs/design/inventory.md",
      kind: "spec",
      description: "Inventory screen spec",
    },
    { actor: "design" },
  );
  await dispatch(
    "code",
    "Implement the inventory grid",
    2.35,
    { kind: "done" },
    { parentTaskId: parent.id },
  );
  await dispatch(
    "qa",
    "Test inventory drag and drop",
    1.7,
    { kind: "done" },
    { parentTaskId: parent.id },
  );
  const failed = await dispatch("code", "Wire the save-game migration", 1.9, {
    kind: "failed",
    error:
      "TypeError: cannot read properties of undefined (reading 'slots') at migrate (save.ts:88)",
  });
  const escalated = await dispatch("code", "Port the physics step to fixed time", 1.3, {
    kind: "escalated",
    error: "tests still flaky after 3 retries: tunnelling through thin walls at 240 Hz",
  });
  // design spends up to its cap, then is refused: [CAP HIT].
  await dispatch("design", "Polish the shop icons", 3.16);
  await dispatch("design", "Draw the settings screen", 0.5);
  clock.offsetMs = todayFrom + 12 * step - now;
  const pending = await ledger.insertTask(
    {
      agentOwner: "qa",
      title: "Regression pass on the save system",
      description: "Run the full save/load suite on all three slots.",
      payload: { suite: "save", slots: [1, 2, 3] },
      priority: 2,
    },
    { actor: "cli" },
  );
  await ledger.insertTask(
    { agentOwner: "code", title: "Add controller rumble", priority: 6 },
    { actor: "cli" },
  );
  await ledger.insertTask(
    { agentOwner: "design", title: "Write the onboarding copy", priority: 4 },
    { actor: "cli" },
  );
  await ledger.insertTask(
    { agentOwner: "qa", title: "Smoke test the nightly build", priority: 1 },
    { actor: "cli" },
  );
  // Claimed and funded, never finished: in progress while the page is watched.
  await budget.claimAndReserve("qa");
  clock.offsetMs = 0;
  const notifier = new ProjectNotifier(ledger, config, {
    clock,
    // A push channel that works except once, so the panel shows both outcomes.
    push: config.notifications.ntfyTopic
      ? async (record) => {
          if (record.kind === "cap_hit") throw new Error("HTTP 502 Bad Gateway from ntfy.sh");
        }
      : undefined,
  });
  await notifier.notify({
    kind: "escalation",
    title: "Escalated: Port the physics step to fixed time",
    message: "code gave up after 3 retries; see agent-state/escalations.",
    needsHuman: true,
  });
  await notifier.notify({
    kind: "cap_hit",
    title: "design hit its daily cap",
    message: "design spent $4.00 of $4.00; its tasks wait until tomorrow (UTC).",
    needsHuman: true,
  });
  return { failed, escalated, pending, parent };
}

/** A raw HTTP answer. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

/**
 * One HTTP request with exactly the headers given (fetch would not let a test forge Host or
 * leave Origin out).
 */
export function http(
  dashboard: Pick<Dashboard, "port">,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<RawResponse> {
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === "string" || Buffer.isBuffer(options.body)
        ? options.body
        : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: dashboard.port,
        path,
        method: options.method ?? "GET",
        // A fresh connection each time: a kept-alive one may point at a server closed since.
        agent: false,
        headers: {
          host: `127.0.0.1:${dashboard.port}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...options.headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Headers of a request the dashboard's own page would send. */
export function pageHeaders(dashboard: Pick<Dashboard, "port" | "token">): Record<string, string> {
  return {
    "x-producer-token": dashboard.token,
    origin: `http://127.0.0.1:${dashboard.port}`,
  };
}

/**
 * Wraps the project's real `ledger.watch` so a test can report what a vanished folder or a
 * lost LISTEN would: call the returned function with the message.
 */
export function watchFailure(ledger: Pick<Ledger, "watch">): (message: string) => void {
  const watch = ledger.watch.bind(ledger);
  let fail: ((message: string) => void) | undefined;
  ledger.watch = (onChange, onError) => {
    fail = onError;
    return watch(onChange, onError);
  };
  return (message) => fail?.(message);
}
