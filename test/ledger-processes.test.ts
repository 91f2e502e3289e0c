import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { tempDir } from "./helpers/temp.js";

const WORKER = join(import.meta.dirname, "fixtures", "claim-worker.mjs");

interface WorkerReport {
  claimed: [string, string][];
  races: number;
  errors: string[];
}

function runWorker(dbPath: string, roles: string[], index: number): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, dbPath, roles.join(","), String(index)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`worker ${index} exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as WorkerReport);
    });
  });
}

describe("several processes on one ledger file", () => {
  it("8 processes drain 5,000 tasks: each done exactly once, no token reused, chain intact", async () => {
    const dbPath = join(tempDir(), "ledger.db");
    const roles = ["design", "code", "art", "qa"];
    const ledger = await LedgerClient.open({ dbPath, actor: "seed" });
    const total = 5000;
    for (let start = 0; start < total; start += 500) {
      await ledger.insertTasks(
        Array.from({ length: 500 }, (_, i) => ({
          agentOwner: roles[(start + i) % roles.length]!,
          title: `task ${start + i}`,
          priority: 1 + ((start + i) % 9),
        })),
      );
    }
    const reports = await Promise.all(
      Array.from({ length: 8 }, (_, i) => runWorker(dbPath, roles, i)),
    );

    expect(reports.flatMap((r) => r.errors)).toEqual([]);
    const ids = reports.flatMap((r) => r.claimed.map(([id]) => id));
    const tokens = reports.flatMap((r) => r.claimed.map(([, token]) => token));
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect(new Set(tokens).size).toBe(total);
    // Work really was shared between the processes.
    expect(reports.filter((r) => r.claimed.length > 0).length).toBeGreaterThan(1);

    expect(await ledger.countTasks({ status: "done" })).toBe(total);
    const verification = await ledger.verifyAuditChain();
    expect(verification).toMatchObject({ ok: true, rowCount: total * 3 });
    await ledger.close();
  });
});
