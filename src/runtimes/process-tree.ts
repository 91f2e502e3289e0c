import { randomBytes } from "node:crypto";
import { closeSync, openSync, readdirSync, readSync } from "node:fs";

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
 * Where each environment is read. One buffer for the whole process: a scan is synchronous,
 * so no two scans share it at once, and no scan allocates per process (one runs after every
 * dispatch, over every process on the host).
 */
const SCAN_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * The live processes, other than this one, whose environment carries `mark`. Linux only
 * (read from /proc); elsewhere the list is empty and only the process group is ended. A
 * process that replaced its whole environment (`env -i`) is not found.
 */
export function markedProcesses(mark: string): number[] {
  return scanFor([markNeedle(mark)])[0]!;
}

function markNeedle(mark: string): Buffer {
  return Buffer.from(`${DISPATCH_MARK_VARIABLE}=${mark}\0`);
}

/**
 * One pass over /proc for several marks: per mark, the processes carrying it. Every process
 * is looked at: neither pid order (it wraps around) nor anything cheaper in /proc says which
 * processes are younger than a dispatch. Each look is one open, read and close into a shared
 * buffer, and the open is most of the cost (the kernel checks access to the process's memory;
 * ~20 us here), so sharing a pass between dispatches is what makes sweeps cheaper.
 */
function scanFor(needles: Buffer[]): number[][] {
  const found = needles.map((): number[] => []);
  if (process.platform !== "linux") return found;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a process: self, sys, meminfo, ...
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    const hits = environHits(`/proc/${entry}/environ`, needles);
    for (let i = 0; i < needles.length; i++) if (hits & (1 << i)) found[i]!.push(pid);
  }
  return found;
}

/**
 * Which of `needles` (at most 31) the environment at `path` holds, as a bit set. One larger
 * than the buffer is read in windows that overlap by the longest needle's length less one,
 * so no match is split between two reads.
 */
function environHits(path: string, needles: Buffer[]): number {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return 0; // Gone meanwhile, a kernel thread, or another user's process: not ours to end.
  }
  const overlap = Math.max(...needles.map((n) => n.length)) - 1;
  let hits = 0;
  try {
    let kept = 0;
    for (;;) {
      const read = readSync(fd, SCAN_BUFFER, kept, SCAN_BUFFER.length - kept, null);
      if (read === 0) return hits;
      const filled = kept + read;
      const window = SCAN_BUFFER.subarray(0, filled);
      for (let i = 0; i < needles.length; i++) if (window.includes(needles[i]!)) hits |= 1 << i;
      kept = Math.min(filled, overlap);
      SCAN_BUFFER.copyWithin(0, filled - kept, filled);
    }
  } catch {
    return hits; // Exited while being read.
  } finally {
    closeSync(fd);
  }
}

/** Sends `signal` to the process group `pid` leads; a group already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited meanwhile.
    }
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
  signalAll(marked, signal);
  return marked.length;
}

/** Dispatches that ended in this turn of the event loop, waiting for the sweep at its end. */
const batch: { needle: Buffer; signal: NodeJS.Signals; done: (count: number) => void }[] = [];

/**
 * endDispatchTree for a dispatch that is over: the group is signalled at once, and the marked
 * processes in one /proc sweep at the end of this turn of the event loop, shared with every
 * other dispatch that ended in it (agents that exit together at concurrency above one).
 * Resolves, with how many marked processes were signalled, once they have been.
 */
export function endDispatchTreeSoon(
  mark: string,
  signal: NodeJS.Signals,
  groupLeader?: number,
): Promise<number> {
  if (groupLeader !== undefined) signalGroup(groupLeader, signal);
  return new Promise((done) => {
    batch.push({ needle: markNeedle(mark), signal, done });
    if (batch.length === 1) setImmediate(sweepBatch);
  });
}

function sweepBatch(): void {
  // Bit sets of 31 marks per pass: a bigger batch takes more passes.
  const ended = batch.splice(0, 31);
  if (batch.length > 0) setImmediate(sweepBatch);
  const found = scanFor(ended.map((e) => e.needle));
  ended.forEach((e, i) => {
    signalAll(found[i]!, e.signal);
    e.done(found[i]!.length);
  });
}
