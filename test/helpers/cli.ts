import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "./temp.js";

/** The built `producer` binary, run the way a user runs it. */
export const PRODUCER_BIN = resolve(import.meta.dirname, "..", "..", "bin", "producer.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `producer ...args` as a child process and collects its output. `nodeArgs` go to node
 * before the binary (e.g. `--import` a hook); `bin` is another copy of the binary to run.
 */
export function runCli(
  args: string[],
  options: {
    cwd: string;
    env?: NodeJS.ProcessEnv;
    input?: string | Buffer;
    timeoutMs?: number;
    nodeArgs?: string[];
    bin?: string;
  },
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [...(options.nodeArgs ?? []), options.bin ?? PRODUCER_BIN, ...args],
      {
        cwd: options.cwd,
        env: { ...process.env, NO_COLOR: "1", PRODUCER_CONFIG: "", ...options.env },
        stdio: ["pipe", "pipe", "pipe"],
        timeout: options.timeoutMs ?? 30_000,
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

// The benchmarks' module lister: one hook serves both.
const LIST_MODULES = resolve(import.meta.dirname, "../../bench/lib/modules/preload.mjs");

/**
 * The URLs of every module `producer ...args` loads, run in `dir`, with the run's result: its
 * stderr should be empty for the list to mean anything.
 */
export async function modulesLoaded(
  dir: string,
  args: string[],
): Promise<{ out: CliResult; urls: string[] }> {
  const list = join(dir, `modules-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(list, "");
  const out = await runCli(args, {
    cwd: dir,
    nodeArgs: ["--import", LIST_MODULES],
    env: { BENCH_MODULE_LIST: list },
  });
  return { out, urls: readFileSync(list, "utf8").split("\n").filter(Boolean) };
}

/** A minimal project folder: producer.yaml with the given roles (and extra YAML). */
export function tempProject(yamlExtra = "", roles = ["producer", "design", "code", "qa"]): string {
  const dir = tempDir("producer-project-");
  const agents = roles.map((r) => `  ${r}:\n    daily_cap_usd: 5\n`).join("");
  writeFileSync(
    join(dir, "producer.yaml"),
    `project_name: testproj\n${yamlExtra}agents:\n${agents}`,
  );
  mkdirSync(join(dir, "agent-state"), { recursive: true });
  return dir;
}

/** A running `producer` process, for tests that signal or kill it. */
export interface CliProcess {
  child: import("node:child_process").ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Waits until stdout matches `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export function startCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): CliProcess {
  const child = spawn(process.execPath, [PRODUCER_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: "1", PRODUCER_CONFIG: "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | string>((resolvePromise) =>
    child.on("close", (code, signal) => resolvePromise(code ?? signal ?? -1)),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, timeoutMs = 20_000) {
      const started = Date.now();
      while (!pattern.test(out)) {
        if (child.exitCode !== null)
          throw new Error(`process exited before ${pattern}: ${out}\n${err}`);
        if (Date.now() - started > timeoutMs)
          throw new Error(`timed out waiting for ${pattern}: ${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
