import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { TokenUsage } from "../ledger/types.js";
import { computeCost } from "../pricing/table.js";
import { agentEnv } from "./agent-env.js";
import {
  DISPATCH_MARK_VARIABLE,
  endDispatchTree,
  endDispatchTreeSoon,
  newDispatchMark,
} from "./process-tree.js";
import { buildDispatchPrompt, rolePromptOrFailure } from "./prompt.js";
import {
  chargeFor,
  type DispatchRequest,
  type InvocationResult,
  producerEnv,
  type Runtime,
  resultBuilder,
} from "./types.js";

/** Characters of stdout/stderr kept as the attempt's output (its log file). */
const TAIL_CHARS = 256 * 1024;
/** After SIGTERM, how long the process group gets before SIGKILL. */
const KILL_GRACE_MS = 2000;
/** After the agent exits, how long its last output may take to arrive before the pipes close. */
const EXIT_GRACE_MS = 500;

/** The optional JSON report an exec agent may print as its last stdout line. */
interface ExecReport {
  cost_usd?: unknown;
  model?: unknown;
  summary?: unknown;
  usage?: {
    input_tokens?: unknown;
    output_tokens?: unknown;
    cache_creation_input_tokens?: unknown;
    cache_read_input_tokens?: unknown;
  };
}

/**
 * Runs any command as the agent: the dispatch prompt (with the role's standing prompt below
 * it) on stdin, the PRODUCER_* environment, exit 0 for success. Its own process group, so a
 * timeout or an abort ends everything it started.
 */
export class ExecRuntime implements Runtime {
  readonly kind = "exec" as const;

  constructor(private readonly options: { now?: () => number } = {}) {}

  async invoke(request: DispatchRequest): Promise<InvocationResult> {
    const result = resultBuilder(this.options.now ?? Date.now);
    const command = request.role.command;
    if (!command || command.length === 0) {
      return result({
        errorKind: "setup",
        retryable: false,
        error: `role ${request.role.name} uses runtime: exec but has no command in producer.yaml`,
      });
    }
    // An exec role without a prompt of its own in producer.yaml may have no file at all.
    const role =
      request.role.promptRequired || existsSync(request.role.prompt)
        ? rolePromptOrFailure(request.role.prompt)
        : { prompt: null };
    if ("failure" in role) return result(role.failure);
    const task = buildDispatchPrompt(request.task, request.config, request.budgetUsd);
    const stdin = role.prompt === null ? task : `${task}\n---\n\n${role.prompt}`;
    const run = await runProcess(command, {
      cwd: request.config.projectRoot,
      env: {
        ...agentEnv(request.env, {
          roleEnv: request.role.env,
          projectRoot: request.config.projectRoot,
        }),
        ...producerEnv(request),
      },
      stdin,
      timeoutMs: request.role.timeoutMinutes * 60_000,
      signal: request.signal,
      mark: newDispatchMark(),
    });
    const tail = tailOf(run.stderr, run.stdout);
    if (run.spawnError) {
      return result({
        errorKind: "setup",
        retryable: false,
        error: `cannot start ${command[0]}: ${run.spawnError}`,
      });
    }
    if (run.aborted) {
      return result({ errorKind: "aborted", error: "the call was aborted", outputTail: tail });
    }
    if (run.timedOut) {
      return result({
        errorKind: "timeout",
        error: `the agent ran past its ${request.role.timeoutMinutes}-minute timeout and was stopped`,
        outputTail: tail,
      });
    }
    const report = readReport(run.stdout);
    const accounted = report.ok ? accountFor(report.value, request) : null;
    if (run.code !== 0) {
      const last = explainFailure(run.stderr) ?? explainFailure(run.stdout);
      return result({
        ...accounted,
        errorKind: "crash",
        error: `the agent exited with ${run.signal ? `signal ${run.signal}` : `code ${run.code}`}${last ? `: ${last}` : ""}`,
        outputTail: tail,
      });
    }
    if (!report.ok) {
      return result({ errorKind: "bad_output", error: report.error, outputTail: tail });
    }
    return result({ ...accounted, ok: true, outputTail: tail });
  }
}

function accountFor(
  report: ExecReport | null,
  request: DispatchRequest,
): Partial<InvocationResult> {
  if (!report) return { resultText: null };
  const usage: TokenUsage = {
    inputTokens: count(report.usage?.input_tokens),
    outputTokens: count(report.usage?.output_tokens),
    cacheCreationTokens: count(report.usage?.cache_creation_input_tokens),
    cacheReadTokens: count(report.usage?.cache_read_input_tokens),
  };
  const model = typeof report.model === "string" && report.model ? report.model : null;
  const reported =
    typeof report.cost_usd === "number" && Number.isFinite(report.cost_usd) && report.cost_usd >= 0;
  const hasTokens = Object.values(usage).some((n) => n > 0);
  const computed = hasTokens
    ? computeCost(model ?? request.role.model, usage, request.prices).costUsd
    : 0;
  const costUsd = chargeFor(computed, reported ? (report.cost_usd as number) : null);
  return {
    usage,
    usageByModel: hasTokens ? { [model ?? request.role.model]: usage } : {},
    costUsd,
    actualCostUsd: reported ? (report.cost_usd as number) : null,
    model,
    resultText: typeof report.summary === "string" ? report.summary : null,
  };
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/** The last non-empty stdout line, read as a report when it looks like a JSON object. */
function readReport(
  stdout: string,
): { ok: true; value: ExecReport | null } | { ok: false; error: string } {
  const last = lastLine(stdout);
  if (!last?.startsWith("{")) return { ok: true, value: null };
  try {
    const value = JSON.parse(last) as unknown;
    if (value === null || typeof value !== "object" || Array.isArray(value))
      return { ok: true, value: null };
    return { ok: true, value: value as ExecReport };
  } catch (error) {
    return {
      ok: false,
      error: `the agent's last output line looks like a JSON report but does not parse (${(error as Error).message}): ${last.slice(0, 200)}`,
    };
  }
}

/** A runtime's closing banner: it names the runtime, not what went wrong. */
const BANNER = /^(Node\.js|Deno|Bun|Python) v?\d+(\.\d+)*$/;

/**
 * The lines of an agent's output that say why it failed: from the first that reads like an
 * error (a stack's head, a Python traceback's last line) a few lines on, else the last line
 * that is not a runtime's version banner.
 */
export function explainFailure(text: string): string | null {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  // Python: the traceback's last line names the exception.
  if (lines.some((l) => l.startsWith("Traceback "))) {
    const raised = lines.findLast((l) => /^[\w.]+(Error|Exception)\b/.test(l));
    if (raised) return raised;
  }
  // A line that starts with the error's name (`TypeError: …`, `error: …`), with the two lines
  // after it (where a stack says where).
  const named = lines.findIndex((l) =>
    /^([\w.]*(Error|Exception)|panic|fatal|error)(\[[\w-]+\])?:/i.test(l),
  );
  if (named !== -1) return lines.slice(named, named + 3).join(" ");
  const mentioned = lines.find((l) => /\b(Error|Exception)\b/.test(l));
  if (mentioned) return mentioned;
  return lines.filter((l) => !BANNER.test(l)).at(-1) ?? null;
}

function lastLine(text: string): string | null {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? null;
}

function tailOf(stderr: string, stdout: string): string | null {
  const parts = [
    stderr.trim() && `stderr:\n${stderr.trim()}`,
    stdout.trim() && `stdout:\n${stdout.trim()}`,
  ].filter(Boolean);
  if (parts.length === 0) return null;
  const text = parts.join("\n");
  return text.length > TAIL_CHARS ? `…${text.slice(-TAIL_CHARS)}` : text;
}

interface ProcessRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  spawnError: string | null;
}

/**
 * Spawns `command` in its own process group, marked with `mark`, and waits for it to exit.
 * The dispatch owns everything it started: once the agent has exited (plus a short grace for
 * its last output), and at once on timeout or abort, the group and every marked process are
 * ended and the pipes closed, so a background child holding stdout cannot hold the dispatch.
 */
function runProcess(
  command: string[],
  options: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    stdin: string;
    timeoutMs: number;
    signal: AbortSignal;
    mark: string;
  },
): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const run: ProcessRun = {
      code: null,
      signal: null,
      stdout: "",
      stderr: "",
      timedOut: false,
      aborted: false,
      spawnError: null,
    };
    const [program, ...args] = command as [string, ...string[]];
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: { ...options.env, [DISPATCH_MARK_VARIABLE]: options.mark },
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const keep = (text: string, chunk: Buffer) => {
      const joined = text + chunk.toString("utf8");
      // Keep enough for the report line and the tail, not a runaway agent's whole output.
      return joined.length > 1_000_000 ? joined.slice(-500_000) : joined;
    };
    child.stdout.on("data", (chunk: Buffer) => {
      run.stdout = keep(run.stdout, chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      run.stderr = keep(run.stderr, chunk);
    });
    // An agent that never reads stdin must not crash us with EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin);

    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, work: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        work();
      }, ms);
      timers.add(timer);
    };
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      options.signal.removeEventListener("abort", onAbort);
      // Whatever the agent left running goes with it, in its group or escaped from it, before
      // the run is over; the sweep for escaped processes is shared by agents ending together.
      const ended = endDispatchTreeSoon(options.mark, "SIGKILL", child.pid);
      child.stdout.destroy();
      child.stderr.destroy();
      void ended.then(() => resolve(run));
    };
    const stop = () => {
      if (child.pid === undefined) return;
      endDispatchTree(options.mark, "SIGTERM", child.pid);
      later(KILL_GRACE_MS, finish);
    };
    later(options.timeoutMs, () => {
      run.timedOut = true;
      stop();
    });
    const onAbort = () => {
      run.aborted = true;
      stop();
    };
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener("abort", onAbort, { once: true });

    child.on("error", (error) => {
      run.spawnError = error.message;
      finish();
    });
    child.on("exit", (code, signal) => {
      run.code = code;
      run.signal = signal;
      // The pipes close when the last process holding them ends; wait briefly, not for that.
      later(EXIT_GRACE_MS, finish);
    });
    child.on("close", finish);
  });
}
