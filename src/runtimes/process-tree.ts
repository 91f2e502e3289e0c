import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

/**
 * The variable that marks every process a dispatch starts. Children inherit it, so the
 * processes an agent leaves behind can be found even after they left its process group
 * (`setsid`, a double fork) or lost their parent.
 */
export const DISPATCH_MARK_VARIABLE = "PRODUCER_DISPATCH_MARK";

/** A fresh, unguessable mark for one dispatch. */
export function newDispatchMark(): string {
  return randomBytes(12).toString("hex");
}

/**
 * The live processes, other than this one, whose environment carries `mark`. Linux only
 * (read from /proc); elsewhere the list is empty and only the process group is ended. A
 * process that replaced its whole environment (`env -i`) is not found.
 */
export function markedProcesses(mark: string): number[] {
  if (process.platform !== "linux") return [];
  const needle = Buffer.from(`${DISPATCH_MARK_VARIABLE}=${mark}\0`);
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`).includes(needle)) found.push(pid);
    } catch {
      // Gone meanwhile, or another user's process: not ours to end.
    }
  }
  return found;
}

/** Sends `signal` to the process group `pid` leads; a group already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Ends what a dispatch started: the process group it led (when it had one) and every process
 * still carrying its mark. Returns how many marked processes were signalled.
 */
export function endDispatchTree(
  mark: string,
  signal: NodeJS.Signals,
  groupLeader?: number,
): number {
  if (groupLeader !== undefined) signalGroup(groupLeader, signal);
  const marked = markedProcesses(mark);
  for (const pid of marked) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited meanwhile.
    }
  }
  return marked.length;
}
