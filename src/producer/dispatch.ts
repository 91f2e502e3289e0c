import { writeAttemptLog } from "../attempts/output-log.js";
import type { BudgetTracker } from "../budget/tracker.js";
import type { Clock } from "../clock.js";
import type { ProducerConfig } from "../config/types.js";
import { asError } from "../errors.js";
import type { FailureBurstDetector } from "../killswitch/auto-arm.js";
import type { Reservation } from "../ledger/budget.js";
import type { Ledger } from "../ledger/ledger.js";
import type { ClaimEnd } from "../ledger/rules/transitions.js";
import type { Task } from "../ledger/types.js";
import type { Notifier } from "../notify/notifier.js";
import type { PriceBook } from "../pricing/book.js";
import type { InvocationResult, Runtime } from "../runtimes/types.js";
import { emptyResult } from "../runtimes/types.js";
import type { Redactor } from "../secrets/redactor.js";
import { failedAttempts, failedTimes, writeEscalation } from "./escalation.js";
import { PROGRESS_EVERY_MS, type ProducerEventEmitter } from "./events.js";
import { nextStep } from "./retry.js";
import { saneResult } from "./sane-result.js";

/** What one dispatch needs from the Producer around it. */
export interface DispatchContext {
  config: ProducerConfig;
  ledger: Ledger;
  budget: BudgetTracker;
  runtimes: Partial<Record<string, Runtime>>;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  events: ProducerEventEmitter;
  notifier: Notifier;
  failures: FailureBurstDetector;
  leaseMs: number;
  /** The prices calls are charged at, fixed for the length of each call. */
  prices: PriceBook;
  /** Takes known secrets out of what agents printed before anything is stored. */
  redactor: Redactor;
}

/** A dispatch in flight, as the loop tracks it. */
export interface RunningDispatch {
  task: Task;
  controller: AbortController;
  /** Why we aborted it: `release` gives the claim back uncounted. */
  abortReason: "release" | "claim_lost" | null;
  done: Promise<void>;
}

/** The most of an error message the ledger keeps; the attempt's log file has the rest. */
export const MAX_ERROR_CHARS = 2000;

function capped(text: string | null): string | null {
  if (text === null || text.length <= MAX_ERROR_CHARS) return text;
  const note = `… (${text.length} characters; see the attempt's log)`;
  return text.slice(0, MAX_ERROR_CHARS - note.length) + note;
}

/**
 * Tells humans a task is escalated: the escalation file (every attempt, the commands to
 * resolve it), the event and a notice. Used when a dispatch fails for the last time and when
 * a recovered claim (its Producer died) has used up its retries.
 */
export async function announceEscalation(
  ctx: Pick<DispatchContext, "config" | "ledger" | "events" | "notifier">,
  task: Task,
  error: string,
): Promise<void> {
  const [attempts, parent] = await Promise.all([
    ctx.ledger.listAttempts(task.id),
    task.parentTaskId ? ctx.ledger.getTask(task.parentTaskId) : Promise.resolve(null),
  ]);
  const host = ctx.ledger.sharedByHosts ? ctx.ledger.host : undefined;
  const file = writeEscalation(ctx.config, task, attempts, parent, host);
  ctx.events.emit("escalated", {
    taskId: task.id,
    role: task.agentOwner,
    title: task.title,
    file,
    attempts: failedAttempts(task),
  });
  await ctx.notifier.notify({
    kind: "escalation",
    title: `Escalated: ${task.title}`,
    message: `Task ${task.id} (${task.agentOwner}) failed ${failedTimes(task)}; last error: ${error}. Details and the commands to resolve it: ${file}`,
    priority: 4,
    tags: ["warning"],
    needsHuman: true,
  });
}

/**
 * Runs one claimed, funded task to its end: heartbeat the lease, invoke the role's runtime,
 * then in ONE ledger transaction end the claim and settle the budget; retry with backoff,
 * escalate, or fail; tell humans what they need to know. Never throws.
 */
export function startDispatch(
  ctx: DispatchContext,
  task: Task,
  reservation: Reservation,
): RunningDispatch {
  const controller = new AbortController();
  const running: RunningDispatch = { task, controller, abortReason: null, done: Promise.resolve() };
  running.done = runDispatch(ctx, running, reservation).catch((error) =>
    ctx.events.emit("loop_error", {
      message: `dispatch of ${task.id} failed unexpectedly: ${asError(error).message}`,
    }),
  );
  return running;
}

/**
 * The number of the attempt this claim starts, as `task show` lists it: 1..N over the task's
 * life. The task's `attempts` is not it (a requeue restarts that count for the retry limit),
 * and the output log is named by it, so a requeued task's attempt 1 keeps its own output.
 */
async function attemptNumber(ctx: DispatchContext, task: Task): Promise<number> {
  try {
    const listed = await ctx.ledger.listAttempts(task.id);
    return listed.at(-1)?.attempt ?? task.attempts;
  } catch (error) {
    ctx.events.emit("loop_error", {
      message: `could not number the attempt of ${task.id}: ${asError(error).message}`,
    });
    return task.attempts;
  }
}

async function runDispatch(
  ctx: DispatchContext,
  running: RunningDispatch,
  reservation: Reservation,
) {
  const { task } = running;
  const role = ctx.config.agents[task.agentOwner];
  const attempt = await attemptNumber(ctx, task);
  ctx.events.emit("claimed", {
    taskId: task.id,
    role: task.agentOwner,
    title: task.title,
    attempt,
    budgetUsd: reservation.amountUsd,
  });
  const heartbeat = setInterval(
    () => {
      ctx.ledger
        .heartbeat(task.id, task.claimToken!, ctx.leaseMs)
        .then((held) => {
          if (!held && !running.abortReason) {
            running.abortReason = "claim_lost";
            running.controller.abort();
          }
        })
        .catch(() => {
          // A locked ledger delays one heartbeat; the lease is long enough for the next.
        });
    },
    Math.max(1000, Math.floor(ctx.leaseMs / 3)),
  );
  heartbeat.unref();

  const started = ctx.clock.now();
  // The call's first progress waits as long as the next ones: a quick call shows none.
  let lastProgress = started;
  let result: InvocationResult;
  const runtime = role ? ctx.runtimes[role.runtime] : undefined;
  try {
    if (!role || !runtime) {
      result = {
        ...emptyResult(started, ctx.clock.now()),
        errorKind: "setup",
        retryable: false,
        error: role
          ? `no runtime "${role.runtime}" is available for role ${role.name}`
          : `role ${task.agentOwner} is not in producer.yaml any more`,
      };
    } else {
      result = await runtime.invoke({
        task,
        role,
        config: ctx.config,
        budgetUsd: reservation.amountUsd,
        signal: running.controller.signal,
        env: ctx.env,
        ledger: ctx.ledger,
        prices: ctx.prices.current(),
        onProgress: (progress) => {
          const now = ctx.clock.now();
          if (now - lastProgress < PROGRESS_EVERY_MS) return;
          lastProgress = now;
          ctx.events.emit("progress", {
            taskId: task.id,
            role: task.agentOwner,
            ...progress,
            elapsedMs: now - started,
          });
        },
      });
    }
  } catch (error) {
    result = {
      ...emptyResult(started, ctx.clock.now()),
      errorKind: "crash",
      error: `the runtime failed: ${asError(error).message}`,
    };
  } finally {
    clearInterval(heartbeat);
  }
  const said = {
    ...result,
    error: capped(ctx.redactor.redact(result.error)),
    outputTail: ctx.redactor.redact(result.outputTail),
    resultText: ctx.redactor.redact(result.resultText),
  };
  if (said.outputTail) {
    try {
      writeAttemptLog(ctx.config.agentStateDir, task.id, attempt, said.outputTail);
    } catch (error) {
      ctx.events.emit("loop_error", {
        message: `could not keep the output of ${task.id}: ${asError(error).message}`,
      });
    }
  }
  await finish(ctx, running, reservation, saneResult(said, reservation.amountUsd));
}

async function finish(
  ctx: DispatchContext,
  running: RunningDispatch,
  reservation: Reservation,
  result: InvocationResult,
): Promise<void> {
  const { task } = running;
  const role = task.agentOwner;
  const released =
    !result.ok && result.errorKind === "aborted" && running.abortReason === "release";
  const step =
    result.ok || released ? null : nextStep(task.attempts, ctx.config.retry, result.retryable);
  const error = result.error ?? "unknown error";
  const end: ClaimEnd = result.ok
    ? { kind: "done" }
    : released
      ? { kind: "released", reason: "aborted by the operator; the attempt is not counted" }
      : step?.kind === "retry"
        ? {
            kind: "retry",
            error,
            notBefore: new Date(ctx.clock.now() + step.delaySeconds * 1000).toISOString(),
          }
        : step?.kind === "escalate"
          ? { kind: "escalated", error }
          : { kind: "failed", error };
  const settle = { reservationId: reservation.id, limits: ctx.budget.limitsFor(role) };
  let finished: Awaited<ReturnType<typeof ctx.ledger.finishClaim>>;
  try {
    finished = await ctx.ledger.finishClaim(
      task.id,
      task.claimToken!,
      end,
      {
        costUsd: result.costUsd,
        actualCostUsd: result.actualCostUsd,
        usage: result.usage,
        model: result.model,
        result: result.resultText,
      },
      { actor: "producer", settle },
    );
  } catch (cause) {
    // The claim must end all the same, or lease recovery would replay it forever: end it as
    // failed, charged its whole hold. Should even that fail, the lease recovers it.
    const why = `recording the call's outcome failed (${asError(cause).message})`;
    ctx.events.emit("loop_error", { message: `task ${task.id}: ${why}; ended as failed` });
    await ctx.ledger.finishClaim(
      task.id,
      task.claimToken!,
      { kind: "failed", error: why },
      { costUsd: reservation.amountUsd },
      { actor: "producer", settle },
    );
    return;
  }
  const settlement = finished.settlement!;
  if (settlement.softCapCrossed) {
    const cap = ctx.budget.limitsFor(role).roleCapUsd;
    ctx.events.emit("soft_cap", { role, spentUsd: settlement.usage.roleSpentUsd, capUsd: cap });
    await ctx.notifier.notify({
      kind: "soft_cap",
      title: `${role} near its daily cap`,
      message: `Role ${role} has spent $${settlement.usage.roleSpentUsd.toFixed(2)} of its $${cap.toFixed(2)} cap today (soft cap ${Math.round(ctx.config.budget.softCapRatio * 100)}%).`,
      priority: 3,
      tags: ["money_with_wings"],
    });
  }
  const exceeded = ctx.budget.exceededError(settlement);
  if (exceeded) {
    ctx.events.emit("budget_exceeded", {
      role,
      message: exceeded.message,
      overshootUsd: settlement.overshootUsd,
    });
    if (exceeded.firstToday) {
      await ctx.notifier.notify({
        kind: "budget_exceeded",
        title: `${role} passed its budget`,
        message: `${exceeded.message}. The call overshot what was held for it by $${settlement.overshootUsd.toFixed(4)}; the role is blocked until UTC midnight.`,
        priority: 4,
        tags: ["rotating_light"],
        needsHuman: true,
      });
    }
  }
  if (finished.claimLost) {
    ctx.events.emit("claim_lost", {
      taskId: task.id,
      role,
      why: `the task is ${finished.task.status.replace("_", " ")} now; the call's cost ($${result.costUsd.toFixed(4)}) was recorded, its outcome dropped`,
    });
    return;
  }
  const durationMs = result.durationMs;
  if (result.ok) {
    const u = result.usage;
    ctx.events.emit("succeeded", {
      taskId: task.id,
      role,
      title: task.title,
      costUsd: result.costUsd,
      tokens: u.inputTokens + u.outputTokens + u.cacheCreationTokens + u.cacheReadTokens,
      durationMs,
    });
    return;
  }
  ctx.events.emit("failed", {
    taskId: task.id,
    role,
    title: task.title,
    kind: result.errorKind ?? "crash",
    error,
    // `done` cannot reach here: a successful result returned above.
    next: end.kind === "done" ? "failed" : end.kind,
    costUsd: result.costUsd,
    durationMs,
  });
  if (released) return;
  if (end.kind === "retry" && step?.kind === "retry") {
    ctx.events.emit("retry_scheduled", {
      taskId: task.id,
      role,
      attempt: task.attempts + 1,
      inSeconds: step.delaySeconds,
      at: end.notBefore,
    });
  }
  if (end.kind === "escalated") await announceEscalation(ctx, finished.task, error);
  const armed = await ctx.failures.recordFailure(role);
  if (armed) {
    // The loop announces the armed switch at its next poll, like any other arming.
    await ctx.notifier.notify({
      kind: "kill_armed",
      title: "Kill switch armed automatically",
      message: `${armed.reason}. Nothing new will be dispatched until a human runs \`producer resume\`.`,
      priority: 5,
      tags: ["octagonal_sign"],
      needsHuman: true,
    });
  }
}
