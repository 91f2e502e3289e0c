import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, onTestFinished } from "vitest";
import { bundledPriceTable, ExecRuntime, type ProducerConfig, type Task } from "../src/index.js";
import {
  DISPATCH_MARK_VARIABLE,
  endDispatchTreeSoon,
  markedProcesses,
  newDispatchMark,
} from "../src/runtimes/process-tree.js";
import { configFrom } from "./helpers/config.js";
import { tempLedger } from "./helpers/ledger.js";
import { tempDir } from "./helpers/temp.js";

const AGENT = join(import.meta.dirname, "fixtures", "exec-agent.mjs");

async function setup(mode: string, extra: string[] = [], timeoutMinutes = 1) {
  const env = await tempLedger();
  const config: ProducerConfig = configFrom(
    `agents:\n  code:\n    daily_cap_usd: 5\n    runtime: exec\n    timeout_minutes: ${timeoutMinutes}\n    command: ${JSON.stringify([process.execPath, AGENT, mode, ...extra])}\n`,
    env.dir,
  );
  mkdirSync(join(env.dir, "agents", "code"), { recursive: true });
  writeFileSync(join(env.dir, "agents", "code", "system_prompt.md"), "You are the code agent.\n");
  const task: Task = await env.ledger.insertTask({
    agentOwner: "code",
    title: "Build the thing",
    description: "Make it work.",
    payload: { feature: "login" },
  });
  const invoke = (signal = new AbortController().signal) =>
    new ExecRuntime().invoke({
      task,
      role: config.agents.code!,
      config,
      budgetUsd: 1.5,
      signal,
      env: { PATH: process.env.PATH },
      ledger: env.ledger,
      prices: bundledPriceTable(),
    });
  return { ...env, config, task, invoke };
}

describe("exec runtime", () => {
  it("succeeds and reads the JSON cost line", async () => {
    const { invoke } = await setup("ok-json");
    const result = await invoke();
    expect(result).toMatchObject({
      ok: true,
      errorKind: null,
      costUsd: 0.0123,
      actualCostUsd: 0.0123,
      model: "claude-sonnet-4-5",
      resultText: "did the thing",
      usage: {
        inputTokens: 1000,
        outputTokens: 50,
        cacheCreationTokens: 200,
        cacheReadTokens: 300,
      },
    });
  });

  it("prices a usage-only report with our table", async () => {
    const { invoke } = await setup("usage-only");
    const result = await invoke();
    expect(result.ok).toBe(true);
    expect(result.costUsd).toBeCloseTo(0.00459, 10);
    expect(result.actualCostUsd).toBeNull();
  });

  it("passes the dispatch prompt on stdin and the PRODUCER_* environment", async () => {
    const { invoke, task, config } = await setup("echo-env");
    const seen = JSON.parse((await invoke()).resultText!);
    expect(seen).toMatchObject({
      task: task.id,
      role: "code",
      config: config.configPath,
      budget: "1.5000",
      cwd: config.projectRoot,
    });
    expect(seen.stdin).toContain(`# Task ${task.id} for the code role`);
    expect(seen.stdin).toContain('"feature": "login"');
    expect(seen.stdin).toContain("You are the code agent.");
  });

  it("runs a bash agent without the user's ~/.bashrc (node hands it a socket for stdin)", async () => {
    // Debian's bash sources ~/.bashrc when stdin is a socket and it thinks it is the top
    // shell: that ran the user's setup in every agent (and took half a second here).
    const { config, task, ledger } = await setup("ok-json");
    const home = tempDir();
    const marker = join(home, "bashrc-ran");
    writeFileSync(join(home, ".bashrc"), `touch ${JSON.stringify(marker)}\n`);
    const role = { ...config.agents.code!, command: ["bash", "-c", "echo started"] };
    const result = await new ExecRuntime().invoke({
      task,
      role,
      config,
      budgetUsd: 1,
      signal: new AbortController().signal,
      env: { PATH: process.env.PATH, HOME: home },
      ledger,
      prices: bundledPriceTable(),
    });
    expect(result.ok).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it("reports a non-zero exit with the stderr line and keeps the tail", async () => {
    const { invoke } = await setup("fail");
    const result = await invoke();
    expect(result).toMatchObject({
      ok: false,
      errorKind: "crash",
      retryable: true,
      error: "the agent exited with code 3: something broke: missing widget",
    });
    expect(result.outputTail).toContain("stderr:\nsomething broke: missing widget");
  });

  it("turns a malformed JSON line into a clear error, not a crash", async () => {
    const { invoke } = await setup("bad-json");
    const result = await invoke();
    expect(result.errorKind).toBe("bad_output");
    expect(result.error).toMatch(
      /^the agent's last output line looks like a JSON report but does not parse \(.+\): \{"cost_usd": 0\.5, oops$/,
    );
  });

  it("kills the whole process group on timeout, grandchildren included", async () => {
    const pidFile = join(tempDir(), "grandchild.pid");
    const { invoke } = await setup("hang", [pidFile], 0.02);
    const started = Date.now();
    const result = await invoke();
    expect(result).toMatchObject({
      ok: false,
      errorKind: "timeout",
      error: "the agent ran past its 0.02-minute timeout and was stopped",
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    await sleep(200);
    expect(alive(grandchild)).toBe(false);
  });

  for (const mode of ["background", "escape"] as const) {
    it(`ends what the agent left behind (${mode}) with its dispatch, promptly`, async () => {
      const pidFile = join(tempDir(), "left.pid");
      const { invoke } = await setup(mode, [pidFile]);
      const started = Date.now();
      const result = await invoke();
      expect(result).toMatchObject({ ok: true, errorKind: null });
      expect(Date.now() - started).toBeLessThan(5_000);
      const left = Number(readFileSync(pidFile, "utf8"));
      await sleep(200);
      expect(alive(left)).toBe(false);
    });
  }

  it("ends an escaped grandchild on timeout too", async () => {
    const pidFile = join(tempDir(), "escaped.pid");
    const { invoke } = await setup("escape-hang", [pidFile], 0.02);
    const result = await invoke();
    expect(result.errorKind).toBe("timeout");
    await sleep(200);
    expect(alive(Number(readFileSync(pidFile, "utf8")))).toBe(false);
  });

  it("aborts on the signal", async () => {
    const env = await setup("hang");
    const pidFile = join(env.dir, "gc.pid");
    const controller = new AbortController();
    const running = new ExecRuntime().invoke({
      task: env.task,
      role: { ...env.config.agents.code!, command: [process.execPath, AGENT, "hang", pidFile] },
      config: env.config,
      budgetUsd: 1,
      signal: controller.signal,
      env: { PATH: process.env.PATH },
      ledger: env.ledger,
      prices: bundledPriceTable(),
    });
    while (!existsSync(pidFile)) await sleep(20);
    controller.abort();
    expect((await running).errorKind).toBe("aborted");
  });

  it("refuses to run without a prompt it was given or with a missing program, not retryable", async () => {
    const env = await setup("ok-json");
    unlinkSync(join(env.dir, "agents", "code", "system_prompt.md"));
    // Named in producer.yaml or not, an exec role may do without a file: its program may
    // carry its instructions. It runs, on the task's prompt alone.
    expect(env.config.agents.code!.promptRequired).toBe(false);
    expect(await env.invoke()).toMatchObject({ ok: true });
    const missingPrompt = await new ExecRuntime().invoke({
      task: env.task,
      role: { ...env.config.agents.code!, promptRequired: true },
      config: env.config,
      budgetUsd: 1,
      signal: new AbortController().signal,
      env: { PATH: process.env.PATH },
      ledger: env.ledger,
      prices: bundledPriceTable(),
    });
    expect(missingPrompt).toMatchObject({ errorKind: "setup", retryable: false });
    expect(missingPrompt.error).toBe(
      `the system prompt of this role cannot be read at ${join(env.dir, "agents", "code", "system_prompt.md")} (ENOENT): create it or fix agents.<role>.prompt`,
    );
    writeFileSync(join(env.dir, "agents", "code", "system_prompt.md"), "x");
    const noProgram = await new ExecRuntime().invoke({
      task: env.task,
      role: { ...env.config.agents.code!, command: ["/nonexistent/agent-binary"] },
      config: env.config,
      budgetUsd: 1,
      signal: new AbortController().signal,
      env: {},
      ledger: env.ledger,
      prices: bundledPriceTable(),
    });
    expect(noProgram).toMatchObject({
      errorKind: "setup",
      retryable: false,
      error: "cannot start /nonexistent/agent-binary: spawn /nonexistent/agent-binary ENOENT",
    });
  });
});

describe.runIf(process.platform === "linux")("processes marked by a dispatch", () => {
  /** A sleeping process whose environment is `env`; killed when the test ends. */
  function sleeper(env: Record<string, string>) {
    const child = spawn("sleep", ["60"], {
      // PATH last: the variables the test lays out come first, in order.
      env: { ...env, PATH: process.env.PATH },
      stdio: "ignore",
    });
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    return child.pid!;
  }

  it("finds a mark past the first read of a large environment, and across its boundary", async () => {
    // The scan reads an environment 64 KiB at a time: one mark sits far beyond the first
    // read, one straddles its end ("BIG=" + value + NUL puts the variable at 65536 - 10).
    const far = newDispatchMark();
    const straddling = newDispatchMark();
    // One variable may hold at most 128 KiB (MAX_ARG_STRLEN): three make ~180 KB.
    const farPid = sleeper({
      BIG1: "x".repeat(60_000),
      BIG2: "x".repeat(60_000),
      BIG3: "x".repeat(60_000),
      [DISPATCH_MARK_VARIABLE]: far,
    });
    const straddlingPid = sleeper({
      BIG: "y".repeat(65536 - 10 - "BIG=".length - 1),
      [DISPATCH_MARK_VARIABLE]: straddling,
    });
    const unmarked = sleeper({ BIG: "z".repeat(100_000) });
    expect(markedProcesses(far)).toEqual([farPid]);
    expect(markedProcesses(straddling)).toEqual([straddlingPid]);
    expect(markedProcesses(newDispatchMark())).toEqual([]);
    expect(alive(unmarked)).toBe(true);
  });

  it("ends the marked processes of dispatches ending together in one sweep, each its own", async () => {
    const marks = [newDispatchMark(), newDispatchMark(), newDispatchMark()];
    const pids = marks.map((mark) => sleeper({ [DISPATCH_MARK_VARIABLE]: mark }));
    const bystander = sleeper({ [DISPATCH_MARK_VARIABLE]: newDispatchMark() });
    const counts = await Promise.all(marks.map((mark) => endDispatchTreeSoon(mark, "SIGKILL")));
    expect(counts).toEqual([1, 1, 1]);
    await sleep(200);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(alive(bystander)).toBe(true);
  });

  it("finds a process started under a mark after it left its session and lost its parent, at every sweep", async () => {
    const before = sleeper({}); // Running before the mark: the census has seen it.
    const mark = newDispatchMark();
    const { starter, escapee } = await startEscapee(mark, join(tempDir(), "escapee.pid"));
    onTestFinished(() => {
      if (alive(escapee)) process.kill(escapee, "SIGKILL");
    });
    expect(statField(escapee, 4)).not.toBe(starter.pid); // its parent is gone
    expect(statField(escapee, 6)).not.toBe(statField(process.pid, 6)); // another session
    expect(markedProcesses(mark)).toEqual([escapee]);
    // Seen once, it is still read at the next sweep: the census dates it after the mark.
    expect(markedProcesses(mark)).toEqual([escapee]);
    expect(await endDispatchTreeSoon(mark, "SIGKILL")).toBe(1);
    await sleep(200);
    expect(alive(escapee)).toBe(false);
    expect(alive(before)).toBe(true);
  });

  it("finds a marked process caught in the middle of starting its program, every time", async () => {
    // Inside exec() a process shows an empty environment for a moment. Read right after the
    // shell that forked it has gone, the child is often still there (about one time in
    // twenty on a 2-core machine); taken for its whole environment, that read lost the mark.
    const pidFile = join(tempDir(), "escapee.pid");
    for (let round = 0; round < 150; round++) {
      const mark = newDispatchMark();
      const { escapee } = await startEscapee(mark, pidFile);
      try {
        expect(markedProcesses(mark), `round ${round}`).toEqual([escapee]);
      } finally {
        try {
          process.kill(escapee, "SIGKILL");
        } catch {
          // Already gone: the failure above, if any, is the one to report.
        }
      }
    }
  });

  it("keeps finding a process that dropped its mark after a sweep read it", async () => {
    const mark = newDispatchMark();
    // Carries the mark until told to go on, then replaces itself with an empty environment.
    const shedder = spawn("bash", ["-c", "read -r; exec env -i sleep 60"], {
      // SHLVL: with a socket for stdin, bash would otherwise run ~/.bashrc (see agentEnv).
      env: { PATH: process.env.PATH, SHLVL: "1", [DISPATCH_MARK_VARIABLE]: mark },
      stdio: ["pipe", "ignore", "ignore"],
    });
    onTestFinished(() => {
      shedder.kill("SIGKILL");
    });
    const pid = shedder.pid!;
    expect(markedProcesses(mark)).toEqual([pid]);
    shedder.stdin.end("go\n");
    while (!readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep")) await sleep(10);
    expect(readFileSync(`/proc/${pid}/environ`, "utf8")).toBe("");
    expect(markedProcesses(mark)).toEqual([pid]);
  });

  it("leaves out a process the census saw before the mark was made, even one carrying it", async () => {
    // A mark made 300 ms from now: its tail says when (this host's monotonic clock, ns).
    const mark = `${"ab".repeat(12)}.${process.hrtime.bigint() + 300_000_000n}`;
    const older = sleeper({ [DISPATCH_MARK_VARIABLE]: mark });
    expect(markedProcesses(newDispatchMark())).toEqual([]); // a sweep: the census sees it
    await sleep(400);
    const younger = sleeper({ [DISPATCH_MARK_VARIABLE]: mark });
    expect(markedProcesses(mark)).toEqual([younger]);
    expect(alive(older)).toBe(true);
  });
});

/** Field `n` (1-based, as in proc(5)) of /proc/<pid>/stat, as a number. */
function statField(pid: number, n: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: count from after its closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(rest[n - 3]);
}

/**
 * Starts `sleep 60` under `mark` the way an agent hides a process: setsid, then a double fork.
 * The middle shell leads a session of its own and exits at once, leaving its background child
 * to init; the child's pid comes back through `pidFile`, as soon as the starter has exited.
 */
async function startEscapee(mark: string, pidFile: string) {
  rmSync(pidFile, { force: true });
  const starter = spawn(
    "bash",
    ["-c", `setsid bash -c 'sleep 60 & echo $! > "$0"' ${JSON.stringify(pidFile)}`],
    { env: { PATH: process.env.PATH, [DISPATCH_MARK_VARIABLE]: mark }, stdio: "ignore" },
  );
  await new Promise((resolve) => starter.on("exit", resolve));
  return { starter, escapee: Number(readFileSync(pidFile, "utf8")) };
}

/** Running, that is: a zombie nobody reaped yet (PID 1 here may not reap) counts as dead. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
