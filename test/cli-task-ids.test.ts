import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { LedgerClient, type Task } from "../src/index.js";
import { runCli, tempProject } from "./helpers/cli.js";

const ROLES = ["producer", "design", "code", "qa"];

// Two ids that share their last five characters (ULIDs rarely do, but can).
const TWINS = ["01AAAAAAAAAAAAAAAAAAAZ9XYZ", "01BBBBBBBBBBBBBBBBBBBQ9XYZ"];

/** A project with one task filed the normal way and two twins written behind the ledger. */
async function project(): Promise<{ dir: string; task: Task; ledger: LedgerClient }> {
  const dir = tempProject("", ROLES);
  const dbPath = join(dir, "agent-state", "ledger.db");
  const setup = await LedgerClient.open({ dbPath, roles: ROLES });
  const task = await setup.insertTask({ agentOwner: "code", title: "Build the menu" });
  await setup.close();
  const db = new Database(dbPath);
  const insert = db.prepare(
    "INSERT INTO tasks (id, agent_owner, title, created_by, created_at, updated_at) VALUES (?, 'qa', 'twin', 'x', 'x', 'x')",
  );
  for (const id of TWINS) insert.run(id);
  db.close();
  const ledger = await LedgerClient.open({ dbPath, roles: ROLES, create: false });
  onTestFinished(() => ledger.close());
  return { dir, task, ledger };
}

/** What the run log shows of a task id, typed back in lower case. */
const typed = (id: string) => id.slice(-8).toLowerCase();

describe("task ids by their end, as the run log shows them", () => {
  it("task show | kill | requeue | reroute take a unique end of an id, in any case", async () => {
    const { dir, task, ledger } = await project();
    const cli = (...args: string[]) => runCli(args, { cwd: dir });

    const show = await cli("task", "show", typed(task.id), "--json");
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout).task.id).toBe(task.id);

    expect(await cli("task", "kill", typed(task.id), "--reason", "wrong menu")).toMatchObject({
      code: 0,
      stdout: `killed ${task.id} (code): wrong menu\n`,
    });
    expect(await cli("task", "requeue", task.id.slice(-4).toLowerCase())).toMatchObject({
      code: 0,
      stdout: `requeued ${task.id} (code): pending again, with fresh retries\n`,
    });
    expect(await cli("task", "reroute", typed(task.id), "design")).toMatchObject({
      code: 0,
      stdout: `rerouted ${task.id} from code to design: pending\n`,
    });
    expect(await ledger.getTask(task.id)).toMatchObject({ agentOwner: "design" });
    // A five-character end that only one of the twins has.
    const twin = await cli("task", "show", "z9xyz", "--json");
    expect(JSON.parse(twin.stdout).task.id).toBe(TWINS[0]);
  });

  it("--parent, --depends-on and decision/asset --task take one too", async () => {
    const { dir, task, ledger } = await project();
    const cli = (...args: string[]) => runCli(args, { cwd: dir });

    const add = await cli(
      "task",
      "add",
      "--agent",
      "qa",
      "--title",
      "Test the menu",
      "--parent",
      typed(task.id),
      "--depends-on",
      `${typed(task.id)},q9xyz`,
      "--json",
    );
    expect(add.code).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({
      parentTaskId: task.id,
      dependsOn: [task.id, TWINS[1]],
    });
    const list = await cli("task", "list", "--parent", typed(task.id), "--json");
    expect((JSON.parse(list.stdout) as Task[]).map((t) => t.title)).toEqual(["Test the menu"]);

    expect(
      await cli("decision", "add", "Tabs", "--role", "code", "--task", typed(task.id)),
    ).toMatchObject({ code: 0 });
    expect(
      await cli("asset", "add", "menu.ts", "--role", "code", "--task", typed(task.id)),
    ).toMatchObject({ code: 0 });
    expect((await ledger.listDecisions({ taskId: task.id })).map((d) => d.decisionText)).toEqual([
      "Tabs",
    ]);
    expect((await ledger.listAssets({ taskId: task.id })).map((a) => a.path)).toEqual(["menu.ts"]);
  });

  it("an ambiguous, unknown or too short end is refused in one line, and nothing changes", async () => {
    const { dir, ledger } = await project();
    const cli = (...args: string[]) => runCli(args, { cwd: dir });
    const before = await ledger.listTasks();

    const ambiguous = `producer: task id "9xyz" is ambiguous: 2 tasks end with it (${TWINS[1]}, ${TWINS[0]}); give more of the id\n`;
    expect(await cli("task", "show", "9xyz")).toMatchObject({ code: 1, stderr: ambiguous });
    expect(await cli("task", "kill", "9xyz")).toMatchObject({ code: 1, stderr: ambiguous });
    expect(
      await cli("task", "add", "--agent", "qa", "--title", "t", "--parent", "9xyz"),
    ).toMatchObject({ code: 1, stderr: ambiguous });
    expect(await cli("task", "requeue", "wxyz")).toMatchObject({
      code: 1,
      stderr: 'producer: no task with id "wxyz"\n',
    });
    expect(
      await cli("task", "add", "--agent", "qa", "--title", "t", "--depends-on", "wxyz"),
    ).toMatchObject({ code: 1, stderr: 'producer: dependency "wxyz" does not exist\n' });
    expect(await cli("decision", "add", "x", "--role", "code", "--task", "wxyz")).toMatchObject({
      code: 1,
      stderr: 'producer: no task with id "wxyz"\n',
    });
    expect(await cli("task", "reroute", "xyz", "qa")).toMatchObject({
      code: 1,
      stderr:
        'producer: task id "xyz" is too short: give the full id or at least its last 4 characters\n',
    });
    expect(await ledger.listTasks()).toEqual(before);
    expect(await ledger.listDecisions({})).toEqual([]);
  });
});
