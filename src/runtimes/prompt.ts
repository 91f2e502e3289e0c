import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import type { ProducerConfig } from "../config/types.js";
import { asError } from "../errors.js";
import type { Task } from "../ledger/types.js";

/** The role's standing prompt could not be read: a setup problem, not worth retrying. */
export class PromptFileMissing extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(
      `the system prompt of this role cannot be read at ${path} (${(cause as NodeJS.ErrnoException).code ?? asError(cause).message}): create it or fix agents.<role>.prompt`,
      { cause },
    );
  }
}

/** The roles whose required standing prompt is missing, with the path it should be at. */
export function missingPrompts(
  config: Pick<ProducerConfig, "agents" | "projectRoot">,
): { role: string; path: string }[] {
  return Object.values(config.agents)
    .filter((role) => role.promptRequired && !existsSync(role.prompt))
    .map((role) => ({ role: role.name, path: relative(config.projectRoot, role.prompt) }));
}

/** One line naming every missing prompt and the fix, or null when none is missing. */
export function missingPromptsMessage(missing: readonly { role: string; path: string }[]) {
  if (missing.length === 0) return null;
  const list = missing.map((m) => `${m.path} (${m.role})`).join(", ");
  return `missing role prompt${missing.length === 1 ? "" : "s"}: ${list}: write ${missing.length === 1 ? "it" : "them"}, or point agents.<role>.prompt at ${missing.length === 1 ? "one" : "them"}`;
}

/**
 * The role's standing prompt, or the setup failure a dispatch reports when it cannot be read
 * (not worth retrying: a human must create or point to the file).
 */
export function rolePromptOrFailure(
  path: string,
): { prompt: string } | { failure: { errorKind: "setup"; retryable: false; error: string } } {
  try {
    return { prompt: readSystemPrompt(path) };
  } catch (error) {
    if (!(error instanceof PromptFileMissing)) throw error;
    return { failure: { errorKind: "setup", retryable: false, error: error.message } };
  }
}

/**
 * Reads the role's system_prompt.md, afresh for every dispatch so an edit applies to the
 * next one. Synchronously: a prompt file is small and local (like the SQLite ledger, which
 * is read synchronously too), and one read takes ~15 us where fs/promises' readFile spends
 * ~250 us of CPU on four thread-pool round trips and a FileHandle, on every dispatch.
 */
export function readSystemPrompt(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new PromptFileMissing(path, error);
  }
}

/**
 * The per-task prompt that sits above the role's standing prompt: what to do now, and the
 * operating contract every agent works under.
 */
export function buildDispatchPrompt(task: Task, config: ProducerConfig, budgetUsd: number): string {
  return [
    `# Task ${task.id} for the ${task.agentOwner} role (project ${config.projectName})`,
    "",
    `Title: ${task.title}`,
    `Priority: ${task.priority} (1 highest, 9 lowest) · attempt ${task.attempts}`,
    task.parentTaskId ? `Filed by task: ${task.parentTaskId}` : "Filed by: a human",
    task.dependsOn.length ? `Builds on (done): ${task.dependsOn.join(", ")}` : null,
    task.lastError ? `The previous attempt failed with: ${task.lastError}` : null,
    "",
    ...taskBrief(task),
    "",
    "## Operating contract",
    "",
    "1. Do this one task. Work inside the project folder only.",
    "2. Record each significant decision with the ledger tool `mcp__ledger__record_decision`",
    "   — what you decided and why.",
    "3. Register files you produced with `mcp__ledger__register_asset`.",
    "4. File the follow-up work other roles must do next with `mcp__ledger__insert_task`",
    `   (or \`producer task add --agent ROLE --title ...\`). This task is their parent.`,
    `5. Your spending limit for this task is $${budgetUsd.toFixed(2)}.`,
    "6. Stop as soon as the deliverable is in place and the ledger is updated.",
    "",
  ]
    .filter((line) => line !== null)
    .join("\n");
}

/** A task's description and payload as markdown, as agents and humans both read them. */
export function taskBrief(task: Pick<Task, "description" | "payload">): string[] {
  return [
    "## Description",
    "",
    task.description.trim() || "(none)",
    "",
    "## Payload",
    "",
    "```json",
    JSON.stringify(task.payload, null, 2),
    "```",
  ];
}
