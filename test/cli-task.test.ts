import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { LedgerClient, type Task } from "../src/index.js";
import {
  checkSeedTasks,
  EXAMPLE_SEED_FILE_TEXT,
  EXAMPLE_SEED_ROLES,
  EXAMPLE_SEED_TASKS,
} from "../src/seed/seed-file.js";
import { runCli, tempProject } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

const ROLES = ["producer", "design", "code", "art", "qa"];
const ROLE_LIST = "the roles are: producer, design, code, art, qa";
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes is the point.
const ESCAPE = /\u001b\[/;

/** A project with an initialised, empty ledger. */
async function project(): Promise<string> {
  const dir = tempProject("", ROLES);
  const ledger = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
  await ledger.close();
  return dir;
}

/** The project's ledger, for setting up and checking; closed after the test. */
async function ledgerOf(dir: string, actor = "test"): Promise<LedgerClient> {
  const ledger = await LedgerClient.open({
    dbPath: join(dir, "agent-state", "ledger.db"),
    roles: ROLES,
    actor,
  });
  onTestFinished(() => ledger.close());
  return ledger;
}

const parse = <T>(text: string): T => JSON.parse(text) as T;

describe("producer task add", () => {
  it("files a task from a subdirectory, prints its id, and the task as JSON with --json", async () => {
    const dir = await project();
    const sub = join(dir, "src", "deep");
    mkdirSync(sub, { recursive: true });
    const first = await runCli(["task", "add", "--agent", "design", "--title", "Write the spec"], {
      cwd: sub,
    });
    expect(first).toMatchObject({ code: 0, stderr: "" });
    const firstId = first.stdout.trim();
    expect(firstId).toMatch(ULID);
    expect(first.stdout).toBe(`${firstId}\n`);

    const second = await runCli(
      [
        "task",
        "add",
        "--agent",
        "code",
        "--title",
        "Build it",
        "--description",
        "-",
        "--payload",
        '{"screen": "title"}',
        "--priority",
        "2",
        "--depends-on",
        `${firstId}, ${firstId}`,
        "--not-before",
        "2030-01-02T03:04:05Z",
        "--json",
      ],
      { cwd: dir, input: "line one\nline two\n\n" },
    );
    expect(second).toMatchObject({ code: 0, stderr: "" });
    const task = parse<Task>(second.stdout);
    expect(task).toMatchObject({
      agentOwner: "code",
      title: "Build it",
      description: "line one\nline two",
      payload: { screen: "title" },
      priority: 2,
      status: "pending",
      dependsOn: [firstId],
      notBefore: "2030-01-02T03:04:05.000Z",
      parentTaskId: null,
      createdBy: "cli",
    });
    const ledger = await ledgerOf(dir);
    expect((await ledger.getTask(task.id))?.title).toBe("Build it");
  });

  it("works with --config and PRODUCER_CONFIG from outside the project", async () => {
    const dir = await project();
    const elsewhere = tempDir();
    const config = join(dir, "producer.yaml");
    const [flag, env] = await Promise.all([
      runCli(["--config", config, "task", "add", "--agent", "qa", "--title", "a"], {
        cwd: elsewhere,
      }),
      runCli(["task", "add", "--agent", "qa", "--title", "b"], {
        cwd: elsewhere,
        env: { PRODUCER_CONFIG: config },
      }),
    ]);
    expect([flag.code, env.code, flag.stderr, env.stderr]).toEqual([0, 0, "", ""]);
    expect((await (await ledgerOf(dir)).listTasks()).map((t) => t.title).sort()).toEqual([
      "a",
      "b",
    ]);
  });

  it("attributes work filed inside a dispatch to the dispatched task and its role", async () => {
    const dir = await project();
    const ledger = await ledgerOf(dir);
    const parent = await ledger.insertTask({ agentOwner: "design", title: "Design it" });
    const dispatch = { PRODUCER_TASK_ID: parent.id, PRODUCER_ROLE: "design" };
    const [child, root] = await Promise.all([
      runCli(["task", "add", "--agent", "code", "--title", "Build it", "--json"], {
        cwd: dir,
        env: dispatch,
      }),
      runCli(["task", "add", "--agent", "qa", "--title", "Unrelated", "--parent", "", "--json"], {
        cwd: dir,
        env: dispatch,
      }),
    ]);
    expect(parse<Task>(child.stdout)).toMatchObject({
      parentTaskId: parent.id,
      createdBy: "design",
      depth: 1,
    });
    expect(parse<Task>(root.stdout)).toMatchObject({ parentTaskId: null, createdBy: "design" });
    const audit = await ledger.recentAudit(1, parse<Task>(child.stdout).id);
    expect(audit[0]).toMatchObject({ action: "task.created", actor: "design" });
  });

  it("refuses bad input with one line: flag formats exit 2, ledger refusals exit 1", async () => {
    const dir = await project();
    const add = (...args: string[]) =>
      runCli(["task", "add", "--agent", "code", "--title", "t", ...args], { cwd: dir });
    const results = await Promise.all([
      runCli(["task", "add", "--agent", "cdoe", "--title", "t"], { cwd: dir }),
      add("--payload", "{nope"),
      add("--payload", "[1, 2]"),
      add("--priority", "0"),
      add("--priority", "high"),
      add("--parent", "NOPE"),
      add("--depends-on", "NOPE"),
      add("--not-before", "tomorrow"),
      runCli(["task", "add", "--agent", "code", "--title", "  "], { cwd: dir }),
      runCli(["task", "add", "--agent", "code"], { cwd: dir }),
    ]);
    expect(results.slice(0, 9).map((r) => [r.code, r.stdout, r.stderr])).toEqual([
      [1, "", `producer: unknown role "cdoe" (did you mean "code"?); ${ROLE_LIST}\n`],
      [2, "", `producer: --payload is not valid JSON (${jsonError("{nope")})\n`],
      [2, "", 'producer: --payload must be a JSON object like {"key": "value"}, got an array\n'],
      [
        2,
        "",
        'producer: --priority must be a whole number from 1 (highest) to 9 (lowest), got "0"\n',
      ],
      [
        2,
        "",
        'producer: --priority must be a whole number from 1 (highest) to 9 (lowest), got "high"\n',
      ],
      [1, "", 'producer: parent task "NOPE" does not exist\n'],
      [1, "", 'producer: dependency "NOPE" does not exist\n'],
      [
        2,
        "",
        'producer: --not-before must be an ISO-8601 timestamp like 2026-05-06T09:30:00Z, got "tomorrow"\n',
      ],
      [1, "", "producer: title must not be empty\n"],
    ]);
    expect(results[9]!.code).toBe(2);
    expect(results[9]!.stderr).toContain("required option '--title <text>' not specified");
    expect(await (await ledgerOf(dir)).countTasks()).toBe(0);
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("valid JSON");
}

describe("producer task list", () => {
  it("prints a table newest first with a footer when cut, filters, and JSON", async () => {
    const dir = await project();
    const ledger = await ledgerOf(dir);
    const spec = await ledger.insertTask({ agentOwner: "design", title: "Write the spec" });
    const build = await ledger.insertTask({
      agentOwner: "code",
      title: "Build the menu",
      description: "keyboard and gamepad",
      priority: 2,
    });
    const test = await ledger.insertTask({ agentOwner: "qa", title: "Test the menu" });
    await ledger.kill(test.id, { reason: "not yet" });
    const sub = join(dir, "docs");
    mkdirSync(sub);
    const [all, cut, killed, search, byRole, json, plainNoColorUnset] = await Promise.all([
      runCli(["task", "list"], { cwd: sub }),
      runCli(["task", "list", "--limit", "2"], { cwd: dir }),
      runCli(["task", "list", "--status", "killed,in-progress"], { cwd: dir }),
      runCli(["task", "list", "--search", "GAMEPAD"], { cwd: dir }),
      runCli(["task", "list", "--agent", "design"], { cwd: dir }),
      runCli(["task", "list", "--status", "pending", "--json"], { cwd: dir }),
      runCli(["task", "list"], { cwd: dir, env: { NO_COLOR: undefined, TERM: "xterm" } }),
    ]);
    expect(all).toMatchObject({ code: 0, stderr: "" });
    expect(all.stdout).toBe(
      [
        "ID                          STATUS   ROLE    P  TRIES     COST  TITLE",
        `${test.id}  killed   qa      5      0  $0.0000  Test the menu`,
        `${build.id}  pending  code    2      0  $0.0000  Build the menu`,
        `${spec.id}  pending  design  5      0  $0.0000  Write the spec`,
        "",
      ].join("\n"),
    );
    expect(cut.stdout.split("\n").slice(1)).toEqual([
      expect.stringContaining(test.id),
      expect.stringContaining(build.id),
      "2 of 3 tasks (--all, raise --limit or narrow the filter)",
      "",
    ]);
    const ids = (text: string) => text.match(/^[0-9A-Z]{26}/gm);
    expect(ids(killed.stdout)).toEqual([test.id]);
    expect(ids(search.stdout)).toEqual([build.id]);
    expect(ids(byRole.stdout)).toEqual([spec.id]);
    expect(parse<Task[]>(json.stdout).map((t) => t.id)).toEqual([build.id, spec.id]);
    expect(plainNoColorUnset.stdout).toBe(all.stdout);
    expect(ESCAPE.test(plainNoColorUnset.stdout)).toBe(false);

    // JSON cut short says so on stderr; --all lists every match.
    const [cutJson, allJson] = await Promise.all([
      runCli(["task", "list", "--json", "--limit", "2"], { cwd: dir }),
      runCli(["task", "list", "--json", "--all", "--limit", "1"], { cwd: dir }),
    ]);
    expect(parse<Task[]>(cutJson.stdout)).toHaveLength(2);
    expect(cutJson.stderr).toBe("producer: listed 2 of 3 tasks; pass --all, or raise --limit\n");
    expect(parse<Task[]>(allJson.stdout)).toHaveLength(3);
    expect(allJson.stderr).toBe("");
  });

  it("says so when nothing matches, and refuses bad filters", async () => {
    const dir = await project();
    const list = (...args: string[]) => runCli(["task", "list", ...args], { cwd: dir });
    const [empty, status, limit, role, parent] = await Promise.all([
      list(),
      list("--status", "pendng"),
      list("--limit", "0"),
      list("--agent", "desing"),
      list("--parent", "NOPE"),
    ]);
    expect(empty).toMatchObject({ code: 0, stdout: "no tasks yet\n" });
    expect([status.code, status.stderr]).toEqual([
      2,
      'producer: unknown status "pendng" (did you mean "pending"?); the statuses are: awaiting_approval, pending, in_progress, done, failed, escalated, killed\n',
    ]);
    expect([limit.code, limit.stderr]).toEqual([
      2,
      'producer: --limit must be a positive whole number, got "0"\n',
    ]);
    expect([role.code, role.stderr]).toEqual([
      1,
      `producer: unknown role "desing" (did you mean "design"?); ${ROLE_LIST}\n`,
    ]);
    expect([parent.code, parent.stderr]).toEqual([1, 'producer: no task with id "NOPE"\n']);
  });
});

describe("producer task show", () => {
  it("shows fields, attempts with errors, decisions, assets, children, parent and audit", async () => {
    const dir = await project();
    const ledger = await ledgerOf(dir);
    const parent = await ledger.insertTask({ agentOwner: "design", title: "Write the spec" });
    const task = await ledger.insertTask({
      agentOwner: "code",
      title: "Build the menu",
      description: "Follow the spec.\nKeyboard first.",
      payload: { screen: "title" },
      parentTaskId: parent.id,
      createdBy: "design",
    });
    const claimed = await ledger.claimNext("code", { claimedBy: "host:1" });
    await ledger.fail(claimed!.id, claimed!.claimToken!, {
      error: "tests failed:\nmenu.test.ts",
    });
    await ledger.recordDecision({
      taskId: task.id,
      agentOwner: "code",
      kind: "implementation",
      decisionText: "Use a state machine",
      rationale: "menus nest",
    });
    await ledger.registerAsset({ taskId: task.id, agentOwner: "code", path: "src/menu.ts" });
    const child = await ledger.insertTask({
      agentOwner: "qa",
      title: "Test the menu",
      parentTaskId: task.id,
    });

    const [text, json, missing] = await Promise.all([
      runCli(["task", "show", task.id], { cwd: dir }),
      runCli(["task", "show", task.id, "--json"], { cwd: dir }),
      runCli(["task", "show", "01NOPE"], { cwd: dir }),
    ]);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    const out = text.stdout;
    expect(out.split("\n")[0]).toBe("Build the menu");
    expect(out).toContain(`id          ${task.id}\n`);
    expect(out).toContain("status      failed, 1 attempt\n");
    expect(out).toContain(`parent      ${parent.id} (design, pending) Write the spec\n`);
    expect(out).toContain("last error  tests failed:\n            menu.test.ts\n");
    expect(out).toContain("description\n  Follow the spec.\n  Keyboard first.\n");
    expect(out).toContain('payload\n  {\n    "screen": "title"\n  }\n');
    expect(out).toMatch(
      /attempts \(1\)\n +# +STARTED +OUTCOME +COST +ERROR\n +1 +\S+ +failed +\$0\.0000 +tests failed: menu\.test\.ts\n/,
    );
    expect(out).toContain("decisions (1)\n  - ");
    expect(out).toContain("code [implementation]: Use a state machine\n    why: menus nest\n");
    expect(out).toContain("assets (1)\n  - src/menu.ts");
    expect(out).toContain(`children (1)\n  - ${child.id} (qa, pending) Test the menu\n`);
    expect(out).toMatch(
      /audit \(last 3 rows\)\n.*test {2}task\.created .*role=code.*\n.*task\.claimed.*\n.*task\.failed/,
    );
    expect(out).toContain(`producer task requeue ${task.id}\n`);
    expect(ESCAPE.test(out)).toBe(false);

    const detail = parse<{
      task: Task;
      parent: Task;
      children: Task[];
      attempts: { attempt: number; error: string }[];
      decisions: { decisionText: string }[];
      assets: { path: string }[];
      audit: { action: string }[];
    }>(json.stdout);
    expect(detail.task).toMatchObject({ id: task.id, status: "failed", createdBy: "design" });
    expect(detail.parent.id).toBe(parent.id);
    expect(detail.children.map((c) => c.id)).toEqual([child.id]);
    expect(detail.attempts).toMatchObject([{ attempt: 1, error: "tests failed:\nmenu.test.ts" }]);
    expect(detail.decisions.map((d) => d.decisionText)).toEqual(["Use a state machine"]);
    expect(detail.assets.map((a) => a.path)).toEqual(["src/menu.ts"]);
    expect(detail.audit.map((a) => a.action)).toEqual([
      "task.created",
      "task.claimed",
      "task.failed",
    ]);

    expect([missing.code, missing.stdout, missing.stderr]).toEqual([
      1,
      "",
      'producer: no task with id "01NOPE"\n',
    ]);
  });
});

describe("producer task requeue | kill | reroute", () => {
  it("changes a task with one confirmation line each, audited with the reason", async () => {
    const dir = await project();
    const ledger = await ledgerOf(dir);
    const task = await ledger.insertTask({ agentOwner: "code", title: "Build the menu" });
    const run = (...args: string[]) =>
      runCli(["task", ...args], { cwd: dir, env: { PRODUCER_ROLE: "" } });

    const reroute = await run("reroute", task.id, "design", "--reason", "it is a design job");
    expect(reroute).toMatchObject({
      code: 0,
      stderr: "",
      stdout: `rerouted ${task.id} from code to design: pending\n`,
    });
    const kill = await run("kill", task.id, "--reason", "not needed");
    expect(kill).toMatchObject({ code: 0, stdout: `killed ${task.id} (design): not needed\n` });
    const requeue = await run("requeue", task.id);
    expect(requeue).toMatchObject({
      code: 0,
      stdout: `requeued ${task.id} (design): pending again, with fresh retries\n`,
    });
    const audit = await ledger.recentAudit(3, task.id);
    expect(audit.map((a) => [a.action, a.actor, JSON.parse(a.details).reason])).toEqual([
      ["task.requeued", "cli", undefined],
      ["task.killed", "cli", "not needed"],
      ["task.rerouted", "cli", "it is a design job"],
    ]);
  });

  it("passes the ledger's refusals through: unknown id, illegal transition, unknown role", async () => {
    const dir = await project();
    const ledger = await ledgerOf(dir);
    const task = await ledger.insertTask({ agentOwner: "code", title: "Build the menu" });
    const run = (...args: string[]) => runCli(["task", ...args], { cwd: dir });
    const results = await Promise.all([
      run("requeue", task.id),
      run("reroute", task.id, "desing"),
      run("reroute", task.id, "code"),
      run("kill", "NOPE"),
      run("requeue", "NOPE", "--reason", "x"),
      run("reroute", task.id),
    ]);
    expect(results.slice(0, 5).map((r) => [r.code, r.stdout, r.stderr])).toEqual([
      [
        1,
        "",
        `producer: cannot requeue task ${task.id}: it is pending (requeue works on failed, escalated, killed tasks)\n`,
      ],
      [1, "", `producer: unknown role "desing" (did you mean "design"?); ${ROLE_LIST}\n`],
      [1, "", `producer: task ${task.id} already belongs to code\n`],
      [1, "", 'producer: no task with id "NOPE"\n'],
      [1, "", 'producer: no task with id "NOPE"\n'],
    ]);
    expect(results[5]!.code).toBe(2);
    expect(results[5]!.stderr).toContain("missing required argument 'role'");
    expect((await ledger.getTask(task.id))?.status).toBe("pending");
  });
});

describe("producer task import", () => {
  it("the example seed file checks clean and only uses the roles it declares", () => {
    expect(checkSeedTasks(JSON.parse(EXAMPLE_SEED_FILE_TEXT))).toEqual({
      ok: true,
      tasks: JSON.parse(EXAMPLE_SEED_FILE_TEXT),
    });
    expect(new Set(EXAMPLE_SEED_TASKS.map((t) => t.agent))).toEqual(new Set(EXAMPLE_SEED_ROLES));
  });

  it("files the example in one go with dependencies resolved, and JSON with refs", async () => {
    const dir = await project();
    writeFileSync(join(dir, "seed_tasks.example.json"), EXAMPLE_SEED_FILE_TEXT);
    const sub = join(dir, "agents");
    mkdirSync(sub);
    const plain = await runCli(["task", "import", "../seed_tasks.example.json"], { cwd: sub });
    expect(plain).toMatchObject({ code: 0, stderr: "", stdout: "imported 4 tasks\n" });
    const ledger = await ledgerOf(dir);
    const tasks = (await ledger.listTasks()).reverse();
    expect(tasks.map((t) => [t.agentOwner, t.createdBy, t.parentTaskId])).toEqual([
      ["design", "cli", null],
      ["code", "cli", null],
      ["art", "cli", null],
      ["qa", "cli", null],
    ]);
    const [spec, code, art, qa] = tasks;
    expect(code!.dependsOn).toEqual([spec!.id]);
    expect(art!.dependsOn).toEqual([spec!.id]);
    expect(qa!.dependsOn).toEqual([code!.id, art!.id]);
    expect(spec!.payload).toEqual(EXAMPLE_SEED_TASKS[0]!.payload);

    // The object form, from stdin, inside a dispatch: top-level entries become children.
    const wrapped = JSON.stringify({
      tasks: [
        { ref: "a", agent: "code", title: "Fix the menu", priority: null },
        { agent: "qa", title: "Retest the menu", depends_on: ["a"], parent: "a" },
      ],
    });
    const json = await runCli(["task", "import", "-", "--json"], {
      cwd: dir,
      input: wrapped,
      env: { PRODUCER_TASK_ID: qa!.id, PRODUCER_ROLE: "qa" },
    });
    expect(json).toMatchObject({ code: 0, stderr: "" });
    const result = parse<{ imported: number; refs: Record<string, string>; tasks: Task[] }>(
      json.stdout,
    );
    expect(result.imported).toBe(2);
    expect(result.tasks[0]).toMatchObject({
      id: result.refs.a,
      parentTaskId: qa!.id,
      createdBy: "qa",
      priority: 5,
    });
    expect(result.tasks[1]).toMatchObject({
      parentTaskId: result.refs.a,
      dependsOn: [result.refs.a],
    });
  });

  it("files nothing when one entry is bad, naming the entry and the field", async () => {
    const dir = await project();
    const write = (name: string, body: string) => {
      writeFileSync(join(dir, name), body);
      return name;
    };
    const good = { agent: "code", title: "Build the menu" };
    const files = [
      write("role.json", JSON.stringify([good, { agent: "cdoe", title: "Oops" }])),
      write(
        "shape.json",
        JSON.stringify([good, { agnet: "code", title: "Typo", priorty: 2, payload: [1] }]),
      ),
      write(
        "cycle.json",
        JSON.stringify([
          { ...good, ref: "a", depends_on: ["b"] },
          { ...good, ref: "b", depends_on: ["a"] },
        ]),
      ),
      write(
        "many.json",
        JSON.stringify([
          { ...good, agent: "cdoe", ref: "a" },
          { ...good, agent: "qaa", ref: "a", depends_on: ["nowhere"] },
        ]),
      ),
      write("top.json", JSON.stringify({ task: [good] })),
      write("empty.json", "[]"),
      write("broken.json", "[{"),
      "missing.json",
    ];
    const results = await Promise.all(
      files.map((f) => runCli(["task", "import", f], { cwd: dir })),
    );
    expect(results.map((r) => [r.code, r.stdout, r.stderr])).toEqual([
      [
        1,
        "",
        `producer: role.json: task 2 of 2 ("Oops"): unknown role "cdoe" (did you mean "code"?); ${ROLE_LIST}; nothing was imported\n`,
      ],
      [
        1,
        "",
        [
          "producer: shape.json has 3 problems:",
          '  - task 2 of 2 ("Typo"): unknown field "agnet" (did you mean "agent"?)',
          '  - task 2 of 2 ("Typo"): unknown field "priorty" (did you mean "priority"?)',
          '  - task 2 of 2 ("Typo"): payload must be a JSON object like {"key": "value"}, got an array',
          "",
        ].join("\n"),
      ],
      [1, "", "producer: cycle.json: dependency cycle: a -> b -> a; nothing was imported\n"],
      [
        1,
        "",
        [
          "producer: many.json has 4 problems; nothing was imported:",
          `  - task 1 of 2 (${JSON.stringify(good.title)}): unknown role "cdoe" (did you mean "code"?); ${ROLE_LIST}`,
          `  - task 2 of 2 (${JSON.stringify(good.title)}): ref "a" is already the ref of task 1`,
          `  - task 2 of 2 (${JSON.stringify(good.title)}): unknown role "qaa" (did you mean "qa"?); ${ROLE_LIST}`,
          `  - task 2 of 2 (${JSON.stringify(good.title)}): depends_on "nowhere" is neither a ref in this file nor a task id`,
          "",
        ].join("\n"),
      ],
      [
        1,
        "",
        'producer: top.json: unknown top-level field "task" (did you mean "tasks"?): the file holds a list of tasks, or {"tasks": [...]}\n',
      ],
      [1, "", "producer: empty.json: the file holds no tasks\n"],
      [1, "", `producer: broken.json is not valid JSON: ${jsonError("[{")}\n`],
      [1, "", "producer: cannot read seed file missing.json: no such file\n"],
    ]);
    expect(await (await ledgerOf(dir)).countTasks()).toBe(0);
  });
});
