import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProducerConfig } from "../config/types.js";
import type { Task, TaskAttempt } from "../ledger/types.js";
import { fenced } from "../text/markdown.js";

/**
 * "4 times", and which attempts those were when earlier ones (before a requeue) are listed too:
 * "4 times since it was last queued (attempts 5 to 8)".
 */
function timesSinceQueued(task: Task, attempts: TaskAttempt[]): string {
  const n = failedAttempts(task);
  const times = failedTimes(task);
  const last = attempts.at(-1)?.attempt ?? 0;
  if (last <= n || n === 0) return times;
  const which = n === 1 ? `attempt ${last}` : `attempts ${last - n + 1} to ${last}`;
  return `${times} since it was last queued (${which})`;
}

/** A title as heading text: one line, no markup that starts a new block. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").replace(/[<>#`[\]*_|]/g, (c) => `\\${c}`);
}

/**
 * How many times an escalated task failed: THE count the run log, the notice and the
 * escalation file all give. It is the task's `attempts`: attempts counted against the retry
 * limit since the task was last queued (filed, requeued or rerouted), each one a dispatch that
 * failed or whose Producer died (a release on shutdown or `kill --now` is given back, not
 * counted). Retries start afresh on a requeue, so this is the count that ran out; attempt
 * NUMBERS run on across requeues (see listAttempts), and the file lists every attempt.
 */
export function failedAttempts(task: Pick<Task, "attempts">): number {
  return task.attempts;
}

/** {@link failedAttempts} in words: "once", "4 times". */
export function failedTimes(task: Pick<Task, "attempts">): string {
  const n = failedAttempts(task);
  return n === 1 ? "once" : `${n} times`;
}

/**
 * Writes `escalations/<task id>.md`: everything a human needs to decide, and the exact
 * commands to act on the decision. Written atomically; an older file for the same task is
 * replaced (the task was requeued and escalated again).
 */
export function writeEscalation(
  config: Pick<ProducerConfig, "escalationsDir" | "agents" | "projectName">,
  task: Task,
  attempts: TaskAttempt[],
  parent: Task | null,
  /** The machine writing it, named when the ledger spans several. */
  host?: string,
): string {
  const otherRoles = Object.keys(config.agents).filter((r) => r !== task.agentOwner);
  const rows = attempts.map(
    (a) =>
      `| ${a.attempt} | ${a.startedAt} | ${a.outcome} | ${(a.error ?? "").replaceAll("|", "\\|").replaceAll("\n", " ")} |`,
  );
  const body = [
    `# Escalated: ${oneLine(task.title)}`,
    "",
    `Task \`${task.id}\` for the **${task.agentOwner}** role in ${config.projectName} failed ${timesSinceQueued(task, attempts)} and is waiting for a human.`,
    "",
    `- Priority: ${task.priority}`,
    `- Filed by: ${task.createdBy} at ${task.createdAt}`,
    `- Parent: ${parent ? `\`${parent.id}\` (${parent.agentOwner}): ${parent.title}` : "none (filed by a human or a script)"}`,
    `- Cost so far: $${task.costUsd.toFixed(4)}`,
    ...(host ? [`- Escalated by the Producer on host ${host}`] : []),
    "",
    "## Attempts",
    "",
    "| # | started | outcome | error |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    "## Description",
    "",
    task.description.trim() ? fenced(task.description.trim()) : "(none)",
    "",
    "## Payload",
    "",
    fenced(JSON.stringify(task.payload, null, 2), "json"),
    "",
    "## What you can do",
    "",
    "Fix the cause (the role's prompt, its tools, the task's description), then:",
    "",
    "```sh",
    `producer task requeue ${task.id}            # run it again, with fresh retries`,
    `producer task reroute ${task.id} ${otherRoles[0] ?? "ROLE"}${" ".repeat(Math.max(1, 10 - (otherRoles[0] ?? "ROLE").length))}# give it to another role`,
    `producer task kill ${task.id} --reason "..."  # drop it for good`,
    "```",
    "",
  ].join("\n");
  mkdirSync(config.escalationsDir, { recursive: true });
  const file = join(config.escalationsDir, `${task.id}.md`);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, body);
  renameSync(temp, file);
  return file;
}
