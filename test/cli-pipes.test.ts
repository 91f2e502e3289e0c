import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { PRODUCER_BIN, tempProject } from "./helpers/cli.js";

/** Runs the CLI with its output read by nobody: the reading end closes at once, like `| head -0`. */
function intoClosedPipe(args: string[], cwd: string) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [PRODUCER_BIN, ...args], {
      cwd,
      env: { ...process.env, PRODUCER_CONFIG: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("output into a pipe nobody reads", () => {
  it("ends quietly, with the command's own exit code, for long and short output", async () => {
    const dir = tempProject();
    await (await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") })).close();
    for (const args of [["--help"], ["report"], ["task", "list"], ["status"]]) {
      const result = await intoClosedPipe(args, dir);
      expect({ args, ...result }).toEqual({ args, code: 0, stderr: "" });
    }
  });
});
