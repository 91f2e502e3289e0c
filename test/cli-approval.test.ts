import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { PRODUCER_BIN, runCli, tempProject } from "./helpers/cli.js";
import { PRODUCER_AGENT } from "./helpers/producer.js";

const APPROVER = join(import.meta.dirname, "fixtures", "approver-agent.mjs");

/** An exec role's YAML, run by `command` (default: the test agent that logs its starts). */
function role(name: string, extra = "", command = [process.execPath, PRODUCER_AGENT]) {
  return `  ${name}:\n    daily_cap_usd: 5\n    runtime: exec\n    command: ${JSON.stringify(command)}\n    env: [AGENT_LOG]\n${extra}`;
}

/** A project whose roles are given as YAML; the agents log their starts to agent.log. */
async function project(roles: string) {
  const dir = tempProject("poll_interval_seconds: 0.2\n", []);
  writeFileSync(
    join(dir, "producer.yaml"),
    `${readFileSync(join(dir, "producer.yaml"), "utf8")}${roles}`,
  );
  for (const name of [...roles.matchAll(/^ {2}(\w+):$/gm)].map((m) => m[1]!)) {
    mkdirSync(join(dir, "agents", name), { recursive: true });
    writeFileSync(join(dir, "agents", name, "system_prompt.md"), `You are ${name}.\n`);
  }
  const agentLog = join(dir, "agent.log");
  const started = () =>
    readFileSync(agentLog, { encoding: "utf8", flag: "a+" })
      .split("\n")
      .filter((l) => l.includes('"event":"start"'))
      .map((l) => JSON.parse(l).task as string);
  const cli = (args: string[]) => runCli(args, { cwd: dir, env: { AGENT_LOG: agentLog } });
  const ledger = () => LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
  await (await ledger()).close(); // `producer init` would have created it.
  return { dir, started, cli, ledger };
}

async function auditOf(open: () => Promise<LedgerClient>, id: string) {
  const ledger = await open();
  try {
    return await ledger.recentAudit(100, id);
  } finally {
    await ledger.close();
  }
}

describe("approval gates through the CLI", () => {
  it("a task added with --approval is not dispatched until a human approves it by a suffix of its id", async () => {
    const p = await project(role("code"));
    const added = await p.cli([
      "task",
      "add",
      "--agent",
      "code",
      "--title",
      "Drop the table",
      "--approval",
    ]);
    expect(added).toMatchObject({ code: 0, stderr: "" });
    const id = added.stdout.trim();

    const first = await p.cli(["run", "--once"]);
    expect(first.code).toBe(0);
    expect(p.started()).toEqual([]);
    const shown = JSON.parse((await p.cli(["task", "show", id, "--json"])).stdout);
    expect(shown.task.status).toBe("awaiting_approval");
    const status = await p.cli(["status"]);
    expect(status.stdout).toContain(
      "approvals    1 awaiting (producer task list --status awaiting_approval; producer task approve|deny ID)\n",
    );
    const json = JSON.parse((await p.cli(["status", "--json"])).stdout);
    expect(json.queue.totals.awaiting_approval).toBe(1);

    const approved = await p.cli(["task", "approve", id.slice(-8), "--reason", "backup taken"]);
    expect(approved).toMatchObject({ code: 0, stderr: "" });
    expect(approved.stdout).toBe(`approved ${id} (code): pending, it will be dispatched\n`);
    const again = await p.cli(["task", "approve", id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`cannot approve task ${id}: it is pending`);

    const second = await p.cli(["run", "--once"]);
    expect(second.code).toBe(0);
    expect(p.started()).toEqual([id]);
    const done = JSON.parse((await p.cli(["task", "show", id, "--json"])).stdout);
    expect(done.task.status).toBe("done");
    const decision = (await auditOf(p.ledger, id)).find((a) => a.action === "task.approved");
    expect(decision).toMatchObject({ actor: "cli" });
    expect(JSON.parse(decision!.details)).toMatchObject({
      from_status: "awaiting_approval",
      reason: "backup taken",
    });
  });

  it("a denied task never runs and ends killed with the reason; deny without a reason is refused", async () => {
    const p = await project(role("code"));
    const id = (
      await p.cli(["task", "add", "--agent", "code", "--title", "Rewrite it all", "--approval"])
    ).stdout.trim();
    const bare = await p.cli(["task", "deny", id]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('producer task deny needs --reason "<why>"');

    const denied = await p.cli(["task", "deny", id, "--reason", "too risky this week"]);
    expect(denied).toMatchObject({ code: 0, stderr: "" });
    const run = await p.cli(["run", "--once"]);
    expect(run.code).toBe(0);
    expect(p.started()).toEqual([]);
    const shown = JSON.parse((await p.cli(["task", "show", id, "--json"])).stdout);
    expect(shown.task).toMatchObject({
      status: "killed",
      lastError: "denied: too risky this week",
    });
    const audit = await auditOf(p.ledger, id);
    const decision = audit.find((a) => a.action === "task.denied");
    expect(decision).toMatchObject({ actor: "cli" });
    expect(JSON.parse(decision!.details)).toMatchObject({ reason: "too risky this week" });
    expect(audit.map((a) => a.action)).not.toContain("task.claimed");
  });

  it("gates a role's tasks from producer.yaml: always, or when its call's estimate is above a threshold", async () => {
    const p = await project(
      role("design", "    requires_approval: true\n") +
        role(
          "qa",
          "    dispatch_reservation_usd: 0.2\n    requires_approval: { above_usd: 0.1 }\n",
        ) +
        role(
          "code",
          "    dispatch_reservation_usd: 0.05\n    requires_approval: { above_usd: 0.1 }\n",
        ),
    );
    const add = async (agent: string) =>
      (await p.cli(["task", "add", "--agent", agent, "--title", `for ${agent}`])).stdout.trim();
    const ids = { design: await add("design"), qa: await add("qa"), code: await add("code") };
    const run = await p.cli(["run", "--once"]);
    expect(run.code).toBe(0);
    expect(p.started()).toEqual([ids.code]);
    const statusOf = async (id: string) =>
      JSON.parse((await p.cli(["task", "show", id, "--json"])).stdout).task.status;
    expect(await statusOf(ids.design)).toBe("awaiting_approval");
    expect(await statusOf(ids.qa)).toBe("awaiting_approval");
    const created = (await auditOf(p.ledger, ids.qa)).find((a) => a.action === "task.created");
    expect(JSON.parse(created!.details)).toMatchObject({ awaiting_approval: "role" });
  });

  it("refuses a requires_approval that is neither true, false nor { above_usd }", async () => {
    const p = await project(role("code", "    requires_approval: sometimes\n"));
    const result = await p.cli(["status"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("agents.code.requires_approval");
    expect(result.stderr).toContain(
      'must be true, false or { above_usd: <dollars> }, got "sometimes"',
    );
  });

  it("an agent in a real run cannot approve a task, even with its dispatch variables scrubbed", async () => {
    const p = await project(
      role("code", "") + role("ops", "", [process.execPath, APPROVER, PRODUCER_BIN, "PLACEHOLDER"]),
    );
    const gated = (
      await p.cli(["task", "add", "--agent", "code", "--title", "Deploy", "--approval"])
    ).stdout.trim();
    // The approver is told the gated task's id through its command line.
    const yaml = readFileSync(join(p.dir, "producer.yaml"), "utf8").replace("PLACEHOLDER", gated);
    writeFileSync(join(p.dir, "producer.yaml"), yaml);
    const agent = (
      await p.cli(["task", "add", "--agent", "ops", "--title", "Approve it"])
    ).stdout.trim();
    const run = await p.cli(["run", "--once"]);
    expect(run.code).toBe(0);
    const result = JSON.parse((await p.cli(["task", "show", agent, "--json"])).stdout).task.result;
    const [withVars, scrubbed] = result.split(" | ");
    expect(withVars).toMatch(/^2: .*producer task approve cannot run inside a dispatched agent/);
    expect(scrubbed).toMatch(/^2: .*producer task approve cannot run inside a dispatched agent/);
    const shown = JSON.parse((await p.cli(["task", "show", gated, "--json"])).stdout);
    expect(shown.task.status).toBe("awaiting_approval");
    expect(p.started()).toEqual([]);
  });
});
