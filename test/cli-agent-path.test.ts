import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { PRODUCER_BIN, tempProject } from "./helpers/cli.js";

const PACKAGE_ROOT = resolve(import.meta.dirname, "..");

// A PATH with node and npx on it but no `producer`: what a user has who installed ai-producer
// in the project only.
const BARE_PATH = "/usr/bin:/bin";

/** An exec agent in shell that files work through `producer` on PATH and through PRODUCER_BIN. */
const AGENT = `#!/bin/sh
set -e
producer task add --agent qa --title "filed through PATH" >/dev/null
"$PRODUCER_BIN" task add --agent qa --title "filed through PRODUCER_BIN" >/dev/null
printf '%s\\n' "$PRODUCER_BIN" > seen-bin.txt
printf '%s\\n' "$PATH" > seen-path.txt
echo '{"result":"filed two","cost_usd":0}'
`;

/** ai-producer "installed" in `dir` as npm does it: a package folder and a .bin symlink. */
function install(dir: string): void {
  mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
  symlinkSync(PACKAGE_ROOT, join(dir, "node_modules", "ai-producer"));
  symlinkSync(
    join("..", "ai-producer", "bin", "producer.js"),
    join(dir, "node_modules", ".bin", "producer"),
  );
}

/**
 * A project whose code role is the agent, with ai-producer installed in it unless the
 * Producer runs from elsewhere (a clone of this repository, say).
 */
async function agentProject(installed: boolean): Promise<{ dir: string; taskId: string }> {
  const dir = tempProject("", []);
  if (installed) install(dir);
  const agent = join(dir, "agent.sh");
  writeFileSync(agent, AGENT);
  chmodSync(agent, 0o755);
  writeFileSync(
    join(dir, "producer.yaml"),
    `${readFileSync(join(dir, "producer.yaml"), "utf8")}  code:\n    daily_cap_usd: 5\n    runtime: exec\n    command: ["./agent.sh"]\n  qa:\n    daily_cap_usd: 5\n    runtime: exec\n    command: ["true"]\n`,
  );
  const ledger = await LedgerClient.open({
    dbPath: join(dir, "agent-state", "ledger.db"),
    roles: ["code", "qa"],
  });
  const task = await ledger.insertTask({ agentOwner: "code", title: "File two tasks" });
  await ledger.close();
  return { dir, taskId: task.id };
}

function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      command,
      args,
      {
        cwd,
        env: { PATH: BARE_PATH, HOME: process.env.HOME, NO_COLOR: "1" },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

describe("agents find the producer that runs them", () => {
  const launches: [string, boolean, (dir: string) => [string, string[]]][] = [
    [
      "./node_modules/.bin/producer",
      true,
      (dir) => [join(dir, "node_modules", ".bin", "producer"), []],
    ],
    ["npx producer", true, () => ["npx", ["--offline", "producer"]]],
    ["node /abs/path/bin/producer.js", false, () => [process.execPath, [PRODUCER_BIN]]],
  ];

  it.each(launches)("started as %s", async (_, installed, launch) => {
    const { dir, taskId } = await agentProject(installed);
    const [command, prefix] = launch(dir);
    const result = await run(command, [...prefix, "run", "--once"], dir);
    expect(result.stderr).not.toMatch(/not found|failed/i);
    expect(result.code).toBe(0);
    const check = await LedgerClient.open({
      dbPath: join(dir, "agent-state", "ledger.db"),
      create: false,
    });
    const children = await check.listChildren(taskId);
    await check.close();
    expect(children.map((c) => c.title).sort()).toEqual([
      "filed through PATH",
      "filed through PRODUCER_BIN",
    ]);
    const bin = readFileSync(join(dir, "seen-bin.txt"), "utf8").trim();
    // This package's own command, by absolute path, first on the agent's PATH.
    expect(bin).toBe(join(PACKAGE_ROOT, "bin", "producer"));
    const path = readFileSync(join(dir, "seen-path.txt"), "utf8").trim().split(":");
    expect(path[0]).toBe(join(PACKAGE_ROOT, "bin"));
  });
});
