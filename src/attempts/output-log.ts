import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Where the output of one attempt is kept: `agent-state/attempts/<task id>/<attempt>.log`.
 * The ledger stores a short error; this file holds what the agent printed, for a human.
 */
export function attemptLogPath(agentStateDir: string, taskId: string, attempt: number): string {
  return join(agentStateDir, "attempts", taskId, `${attempt}.log`);
}

/** Writes an attempt's output; the caller has taken secrets out of it. */
export function writeAttemptLog(
  agentStateDir: string,
  taskId: string,
  attempt: number,
  output: string,
): string {
  const file = attemptLogPath(agentStateDir, taskId, attempt);
  mkdirSync(join(agentStateDir, "attempts", taskId), { recursive: true });
  writeFileSync(file, output.endsWith("\n") ? output : `${output}\n`);
  return file;
}

/** The attempt's output file, or null when it kept none. */
export function existingAttemptLog(
  agentStateDir: string,
  taskId: string,
  attempt: number,
): string | null {
  const file = attemptLogPath(agentStateDir, taskId, attempt);
  return existsSync(file) ? file : null;
}

/** The attempt's output, or null when it kept none. */
export function readAttemptLog(
  agentStateDir: string,
  taskId: string,
  attempt: number,
): string | null {
  const file = existingAttemptLog(agentStateDir, taskId, attempt);
  return file ? readFileSync(file, "utf8") : null;
}
