// The README's systemd unit is checked as systemd would read it, and what it relies on is run:
// ExecStart starts the Producer, KillSignal stops it cleanly (exit 0, so Restart=on-failure
// leaves it stopped), and RestartPreventExitStatus is the code a wrongly called command gets.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

const ROOT = join(import.meta.dirname, "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const PLACEHOLDER = "/home/me/my-game";

function unitText(): string {
  const block = /<!-- readme-service:unit -->\n```ini\n([\s\S]*?)```\n/.exec(README);
  expect(block, "README has the service unit").not.toBeNull();
  return block![1]!;
}

/** `Key=value` settings of a unit, last one wins (as systemd reads single-valued keys). */
function settings(unit: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of unit.split("\n")) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** A project with ai-producer installed in it the way npm leaves it. */
async function installedProject(): Promise<string> {
  const project = tempDir("readme-service-");
  const init = await runCli(["init", "--non-interactive"], { cwd: project });
  expect(init.code, init.stderr).toBe(0);
  mkdirSync(join(project, "node_modules", ".bin"), { recursive: true });
  symlinkSync(ROOT, join(project, "node_modules", "ai-producer"));
  symlinkSync("../ai-producer/bin/producer.js", join(project, "node_modules", ".bin", "producer"));
  return project;
}

const hasSystemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

describe("README: Running it as a service", () => {
  it("has a unit whose ExecStart runs the Producer and whose KillSignal stops it with exit 0", async () => {
    const project = await installedProject();
    const unit = unitText().replaceAll(PLACEHOLDER, project);
    const file = join(project, "producer-my-game.service");
    writeFileSync(file, unit);
    if (hasSystemdAnalyze) {
      const verified = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
      expect(verified.status, verified.stderr).toBe(0);
    } else {
      console.log("systemd-analyze is not installed: the unit's syntax was not verified");
    }

    const keys = settings(unit);
    expect(keys.get("WorkingDirectory")).toBe(project);
    const [command, ...args] = keys.get("ExecStart")!.split(" ");
    const child = spawn(command!, args, {
      cwd: keys.get("WorkingDirectory"),
      env: { ...process.env, NO_COLOR: "1", PRODUCER_CONFIG: "" },
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((done) => child.on("close", done));
    const started = Date.now();
    while (!out.includes('"event":"started"')) {
      expect(Date.now() - started, `no start line; got: ${out}`).toBeLessThan(30_000);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill(keys.get("KillSignal") as NodeJS.Signals);
    expect(await exited).toBe(0);
    const events = out
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(expect.arrayContaining(["started", "stopping", "stopped"]));

    const wrongly = spawnSync(command!, [...args, "--no-such-flag"], {
      cwd: project,
      encoding: "utf8",
    });
    expect(String(wrongly.status)).toBe(keys.get("RestartPreventExitStatus"));
  }, 60_000);
});
