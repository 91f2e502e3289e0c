import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FailureBurstDetector, KillSwitchWatcher, ManualClock } from "../src/index.js";
import { runCli, tempProject } from "./helpers/cli.js";
import { tempLedger } from "./helpers/ledger.js";
import { tempDir } from "./helpers/temp.js";

describe("KillSwitchWatcher", () => {
  it("arms with reason, who and when, reads them back, and disarms — audited", async () => {
    const { ledger, clock, dir } = await tempLedger();
    const ks = new KillSwitchWatcher(join(dir, "kill_switch"), { clock, ledger });
    expect(ks.isArmed()).toBe(false);
    expect(ks.state()).toBeNull();
    await ks.arm("deploy in progress,\nfreeze", "alice");
    expect(ks.isArmed()).toBe(true);
    expect(ks.state()).toEqual({
      reason: "deploy in progress, freeze",
      by: "alice",
      at: "2026-05-06T09:00:00.000Z",
      mode: "finish",
    });
    const removed = await ks.disarm("bob");
    expect(removed?.reason).toBe("deploy in progress, freeze");
    expect(ks.isArmed()).toBe(false);
    expect(await ks.disarm("bob")).toBeNull();
    const audit = await ledger.recentAudit(5);
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ["killswitch.disarmed", "bob"],
      ["killswitch.armed", "alice"],
    ]);
    expect((await ledger.verifyAuditChain()).ok).toBe(true);
  });

  it("treats a file made by hand as armed, with its text as the reason", () => {
    const dir = tempDir();
    const path = join(dir, "kill_switch");
    const ks = new KillSwitchWatcher(path);
    writeFileSync(path, "");
    expect(ks.state()).toEqual({
      reason: "armed by creating the kill-switch file (no reason given)",
      by: "unknown",
      at: null,
      mode: "finish",
    });
    writeFileSync(path, "stop everything please\n");
    expect(ks.state()?.reason).toBe("stop everything please");
  });

  it("reads a missing file as not armed, and a path it cannot read as armed", () => {
    const dir = tempDir();
    expect(new KillSwitchWatcher(join(dir, "kill_switch")).state()).toBeNull();
    expect(new KillSwitchWatcher(join(dir, "no-folder", "kill_switch")).state()).toBeNull();
    // A file where a folder should be, or a folder where the file should be: halted.
    writeFileSync(join(dir, "a-file"), "");
    expect(new KillSwitchWatcher(join(dir, "a-file", "kill_switch")).state()).toMatchObject({
      reason: expect.stringContaining("ENOTDIR"),
      mode: "finish",
    });
    expect(new KillSwitchWatcher(dir).state()).toMatchObject({
      reason: expect.stringContaining("EISDIR"),
    });
  });
});

describe("auto-arm on a burst of failures", () => {
  it("arms on the 5th failure of one role within 10 minutes, naming the role", async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.parse("2026-05-06T09:00:00Z"));
    const ks = new KillSwitchWatcher(join(dir, "kill_switch"), { clock });
    const detector = new FailureBurstDetector(ks, { clock });
    for (let i = 0; i < 4; i++) {
      expect(await detector.recordFailure("code")).toBeNull();
      expect(await detector.recordFailure("qa")).toBeNull();
      clock.advance(2 * 60_000);
    }
    // 4 code failures at 0, 2, 4, 6 min; the 5th at 8 min is inside the window.
    const armed = await detector.recordFailure("code");
    expect(armed?.reason).toBe("auto-armed: 5 failures of role code within 10 minutes");
    expect(armed?.by).toBe("producer");
    expect(ks.isArmed()).toBe(true);
  });

  it("does not arm on 5 failures spread over 11 minutes", async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.parse("2026-05-06T09:00:00Z"));
    const ks = new KillSwitchWatcher(join(dir, "kill_switch"), { clock });
    const detector = new FailureBurstDetector(ks, { clock });
    for (let i = 0; i < 5; i++) {
      expect(await detector.recordFailure("code")).toBeNull();
      clock.advance(2.75 * 60_000); // failures at 0, 2.75, 5.5, 8.25, 11 minutes
    }
    expect(ks.isArmed()).toBe(false);
  });
});

describe("producer kill / resume", () => {
  it("arms and releases through the binary, audited with the acting role", async () => {
    const dir = tempProject();
    const { LedgerClient } = await import("../src/index.js");
    const ledger = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
    await ledger.close();

    const kill = await runCli(["kill", "deploy in progress"], { cwd: dir });
    expect(kill).toMatchObject({ code: 0, stderr: "" });
    expect(kill.stdout).toBe(
      "kill switch armed: deploy in progress\ncalls in flight will finish; nothing new starts\nresume with: producer resume\n",
    );
    const file = join(dir, "agent-state", "kill_switch");
    expect(existsSync(file)).toBe(true);

    const now = await runCli(["kill", "--now", "runaway agent"], {
      cwd: dir,
      env: { PRODUCER_ROLE: "qa" },
    });
    expect(now.stdout).toContain("calls in flight will be aborted");

    // An agent may pull the brake; it may not release it.
    const byAgent = await runCli(["resume"], {
      cwd: dir,
      env: { PRODUCER_ROLE: "qa", PRODUCER_TASK_ID: "01JAGENTTASK" },
    });
    expect(byAgent).toMatchObject({
      code: 2,
      stdout: "",
      stderr:
        "producer: producer resume cannot run inside a dispatched agent: only a human releases the brake (an agent may pull it)\n",
    });
    expect(existsSync(file)).toBe(true);

    const resume = await runCli(["resume"], { cwd: dir });
    expect(resume).toMatchObject({
      code: 0,
      stdout: "kill switch released (it said: runaway agent)\n",
    });
    expect(existsSync(file)).toBe(false);
    const again = await runCli(["resume"], { cwd: dir });
    expect(again.stdout).toBe("the kill switch was not armed; nothing to do\n");

    const check = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
    const audit = await check.recentAudit(10);
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ["killswitch.disarmed", "cli"],
      ["killswitch.armed", "qa"],
      ["killswitch.armed", "cli"],
    ]);
    await check.close();
  });

  it("still arms when the ledger is missing, with a warning; refuses an empty reason", async () => {
    const dir = tempProject();
    const kill = await runCli(["kill", "no ledger yet"], { cwd: dir });
    expect(kill.code).toBe(0);
    expect(kill.stderr).toMatch(
      /^producer: warning: not audited, the ledger did not open: ledger not found at /,
    );
    expect(existsSync(join(dir, "agent-state", "kill_switch"))).toBe(true);
    const empty = await runCli(["kill", "  "], { cwd: dir });
    expect(empty).toMatchObject({
      code: 2,
      stderr: 'producer: give a reason, e.g. producer kill "deploy in progress"\n',
    });
    const missing = await runCli(["kill"], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'reason'");
  });
});
