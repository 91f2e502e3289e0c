import { randomUUID } from "node:crypto";
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";

/**
 * The variable that marks every process a dispatch starts. Children inherit it, so the
 * processes an agent leaves behind can be found even after they left its process group
 * (`setsid`, a double fork) or lost their parent.
 */
export const DISPATCH_MARK_VARIABLE = "PRODUCER_DISPATCH_MARK";

/**
 * A fresh, unguessable mark for one dispatch. It ends with the moment it was made (this
 * host's monotonic clock, ns), which a sweep uses to leave out the processes it had already
 * seen running before then: they were started before the dispatch and cannot carry its mark.
 */
export function newDispatchMark(): string {
  // The first mark takes a census, so that even the first dispatches' sweeps know what ran
  // before them.
  if (census.size === 0) takeCensus();
  // randomUUID: 122 random bits from Node's pooled CSPRNG output, one OpenSSL call per 128
  // marks instead of one per mark.
  return `${randomUUID()}.${process.hrtime.bigint()}`;
}

/** When `mark` was made, from its tail; 0 (before anything was seen) for any other string. */
function bornAt(mark: string): bigint {
  const tail = /\.(\d{1,20})$/.exec(mark);
  return tail ? BigInt(tail[1]!) : 0n;
}

/**
 * Where each environment is read. One buffer for the whole process: a scan is synchronous,
 * so no two scans share it at once, and no scan allocates per process read.
 */
const SCAN_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * A process as the sweeps have seen it: the identity of its /proc entry, when a sweep first
 * saw it (monotonic ns, taken after the look), and the marks its environment carried when a
 * sweep first read it (null until then).
 */
interface Seen {
  ino: number;
  ctimeMs: number;
  since: bigint;
  marks: readonly string[] | null;
}

/** The marks of a process whose environment carries none (most of them). */
const NO_MARKS: readonly string[] = Object.freeze([]);

/**
 * Every process the last look at /proc found, by pid. A pid can be reused; the /proc entry of
 * the process that reuses it is a new inode, with a fresh number (from a counter that wraps
 * only after 2^32 inodes) and a change time no earlier than that process. So a pid whose entry
 * kept both is the process seen before; anything else counts as new, which costs only a read.
 */
let census = new Map<number, Seen>();

/**
 * Lists the live processes other than this one and PID 1, with when each was first seen, and
 * keeps that as the census. One stat of /proc/<pid> each (~2 us; reading an environment costs
 * three times that, its open checks access to the process's memory).
 */
function takeCensus(): Map<number, Seen> {
  const next = new Map<number, Seen>();
  if (process.platform !== "linux") return next;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return next;
  }
  const fresh: Seen[] = [];
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a process: self, sys, meminfo, ...
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    const stat = statSync(`/proc/${entry}`, { throwIfNoEntry: false });
    if (!stat) continue; // Gone meanwhile.
    const known = census.get(pid);
    if (known && known.ino === stat.ino && known.ctimeMs === stat.ctimeMs) {
      next.set(pid, known);
    } else {
      const seen: Seen = { ino: stat.ino, ctimeMs: stat.ctimeMs, since: 0n, marks: null };
      fresh.push(seen);
      next.set(pid, seen);
    }
  }
  // Stamped after every look: a process is never dated earlier than it was seen.
  const now = process.hrtime.bigint();
  for (const seen of fresh) seen.since = now;
  census = next;
  return next;
}

/**
 * The live processes, other than this one, whose environment carries `mark`. Linux only
 * (read from /proc); elsewhere the list is empty and only the process group is ended. A
 * process is judged by the environment it had when a sweep first read it: one that had
 * replaced its whole environment (`env -i`) by then is not found.
 */
export function markedProcesses(mark: string): number[] {
  return scanFor([mark]).found[0]!;
}

/**
 * One pass over /proc for several marks (at most 31): per mark, the processes carrying it. A
 * process the census saw before a mark was made was running before its dispatch started, so
 * it is not that dispatch's. Every other process's environment is read once, the first time
 * a sweep needs it, and the marks found are kept with the process: it inherited them when it
 * started, so a later read would say the same, unless the process rewrote its environment
 * to show a mark it had hidden, which gains it nothing over hiding it for good. In steady
 * state a sweep reads only the processes started since the previous one.
 */
function scanFor(marks: string[]): Scan {
  const found = marks.map((): number[] => []);
  const unsettled = marks.map(() => false);
  if (process.platform !== "linux") return { found, unsettled };
  const born = marks.map(bornAt);
  const match = ({ pid, seen, candidates }: Candidate) => {
    if (seen.marks === null || seen.marks.length === 0) return;
    for (let i = 0; i < marks.length; i++) {
      if (candidates & (1 << i) && seen.marks.includes(marks[i]!)) found[i]!.push(pid);
    }
  };
  let waiting: Candidate[] = [];
  for (const [pid, seen] of takeCensus()) {
    let candidates = 0;
    for (let i = 0; i < marks.length; i++) if (seen.since >= born[i]!) candidates |= 1 << i;
    if (candidates === 0) continue;
    const candidate = { pid, seen, candidates };
    if (seen.marks === null) {
      const outcome = readMarks(candidate, 1);
      if (outcome === "later") waiting.push(candidate);
      if (outcome !== "read") continue;
    }
    match(candidate);
  }
  // Processes caught inside exec(): read again, all of them a millisecond apart, so that a
  // sweep waits at most EXEC_READS milliseconds however many there are.
  for (let read = 2; waiting.length > 0 && read <= EXEC_READS; read++) {
    Atomics.wait(PAUSE, 0, 0, 1);
    waiting = waiting.filter((candidate) => {
      const outcome = readMarks(candidate, read);
      if (outcome === "read") match(candidate);
      return outcome === "later";
    });
  }
  for (const { candidates } of waiting) {
    for (let i = 0; i < marks.length; i++) if (candidates & (1 << i)) unsettled[i] = true;
  }
  return { found, unsettled };
}

/** What a sweep found per mark, and whether a process it could not read yet may carry it. */
interface Scan {
  found: number[][];
  unsettled: boolean[];
}

/** A process a sweep must read, with the marks (bits) it may carry. */
interface Candidate {
  pid: number;
  seen: Seen;
  candidates: number;
}

/** Reads, a millisecond apart, of a process that shows an empty environment. */
const EXEC_READS = 20;

/** Reads that must find it empty before a process with a command line is believed. */
const EMPTY_READS = 3;

/** Where a sweep waits for processes to finish their exec(), a millisecond a time. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Reads the marks of a process the sweep has not read before into `seen.marks`: "read" when
 * it did, "skip" when the process is gone or not ours (another user's: not ours to end
 * either), and "later" when it shows an empty environment it may not have. A process inside
 * exec() does for a moment: the kernel has given it the new program's memory but not yet said
 * where the environment lies in it (the command line appears a moment before the
 * environment). Taken for its whole environment, that moment would hide its mark for good, and
 * an agent's child caught in it would outlive the dispatch. So an empty environment is
 * believed at once only of a kernel thread or a zombie, and of a process with a command line
 * (a program run by `env -i`) on the EMPTY_READS-th read.
 */
function readMarks({ pid, seen }: Candidate, read: number): "read" | "skip" | "later" {
  const environ = readProcFile(`/proc/${pid}/environ`);
  if (environ === null) return "skip";
  if (environ.length === 0) {
    const kind = kindOfEmpty(pid);
    if (kind === "starting" || (kind === "command" && read < EMPTY_READS)) return "later";
  }
  seen.marks = marksIn(environ);
  return "read";
}

/** PF_KTHREAD in /proc/<pid>/stat's flags: set by the kernel for its own threads only. */
const KERNEL_THREAD = 0x00200000;

/**
 * What a process that showed an empty environment is: "final" for a kernel thread, a zombie
 * or a process gone; "command" when it has a command line; "starting" when it has neither,
 * as inside exec().
 */
function kindOfEmpty(pid: number): "final" | "command" | "starting" {
  const stat = readProcFile(`/proc/${pid}/stat`)?.toString("latin1");
  if (stat === undefined) return "final";
  // "pid (name) state ppid pgrp session tty tpgid flags ...": the name may hold spaces and
  // parentheses, so the fields are read after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  if (state === "Z" || state === "X" || (Number(fields[6]) & KERNEL_THREAD) !== 0) return "final";
  const cmdline = readProcFile(`/proc/${pid}/cmdline`);
  if (cmdline === null) return "final";
  return cmdline.length > 0 ? "command" : "starting";
}

/**
 * The whole file at `path` under /proc, in the shared buffer (or a larger one past 64 KiB):
 * valid until the next read. Null when it cannot be read to the end.
 */
function readProcFile(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    let buffer = SCAN_BUFFER;
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const larger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(larger, 0, 0, length);
        buffer = larger;
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) return buffer.subarray(0, length);
      length += read;
    }
  } catch {
    return null; // Exited while being read.
  } finally {
    closeSync(fd);
  }
}

const MARK_KEY = Buffer.from(`${DISPATCH_MARK_VARIABLE}=`);

/**
 * Every value that follows `PRODUCER_DISPATCH_MARK=` up to a NUL, wherever that text appears:
 * inside another variable's value too.
 */
function marksIn(environ: Buffer): readonly string[] {
  let at = environ.indexOf(MARK_KEY);
  if (at === -1) return NO_MARKS;
  const found: string[] = [];
  for (; at !== -1; at = environ.indexOf(MARK_KEY, at + 1)) {
    const start = at + MARK_KEY.length;
    const end = environ.indexOf(0, start);
    if (end === -1) break;
    // latin1: one character per byte, so only the very bytes of a mark read as that mark.
    found.push(environ.toString("latin1", start, end));
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
const batch: Ended[] = [];

/** A dispatch that ended, and the marked processes its sweeps have signalled so far. */
interface Ended {
  mark: string;
  signal: NodeJS.Signals;
  signalled: Set<number>;
  done: (count: number) => void;
}

/**
 * When to sweep again for a dispatch whose sweep left a process it could not read yet (still
 * inside exec() after EXEC_READS milliseconds): its mark may be there, and no later dispatch's
 * sweep would look for it.
 */
const AGAIN_AFTER_MS = [5, 20, 100];

/**
 * endDispatchTree for a dispatch that is over: the group is signalled at once, and the marked
 * processes in one /proc sweep at the end of this turn of the event loop, shared with every
 * other dispatch that ended in it (agents that exit together at concurrency above one).
 * Resolves, with how many marked processes were signalled, once they have been: when the
 * sweep met a process it could not read yet, after up to three more sweeps (AGAIN_AFTER_MS).
 */
export function endDispatchTreeSoon(
  mark: string,
  signal: NodeJS.Signals,
  groupLeader?: number,
): Promise<number> {
  if (groupLeader !== undefined) signalGroup(groupLeader, signal);
  return new Promise((done) => {
    batch.push({ mark, signal, signalled: new Set(), done });
    if (batch.length === 1) setImmediate(sweepBatch);
  });
}

function sweepBatch(): void {
  // Bit sets of 31 marks per pass: a bigger batch takes more passes.
  const ended = batch.splice(0, 31);
  if (batch.length > 0) setImmediate(sweepBatch);
  sweepEnded(ended, 0);
}

function sweepEnded(ended: Ended[], again: number): void {
  const { found, unsettled } = scanFor(ended.map((e) => e.mark));
  const unsure: Ended[] = [];
  ended.forEach((e, i) => {
    signalAll(found[i]!, e.signal);
    for (const pid of found[i]!) e.signalled.add(pid);
    if (unsettled[i] && again < AGAIN_AFTER_MS.length) unsure.push(e);
    else e.done(e.signalled.size);
  });
  if (unsure.length > 0) setTimeout(() => sweepEnded(unsure, again + 1), AGAIN_AFTER_MS[again]);
}
