// The calling thread's own CPU time, and how often it has slept. process.cpuUsage() adds up
// every thread (the checkpoint worker, V8's helpers), and Node 20 has no per-thread call: Linux
// keeps the figure in /proc/thread-self/stat, in clock ticks (10 ms), so runs meant for it last
// a second or more.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond;

function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU time of this thread in microseconds, or null where /proc has none. */
export function threadCpuUs() {
  let stat;
  try {
    stat = readFileSync("/proc/thread-self/stat", "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks();
}

/**
 * What a counter (threadCpuUs or threadSleeps) rose by per item between the reading `before`
 * and now, or null where there is no counter.
 */
export function perItem(counter, before, items) {
  const after = counter();
  return before === null || after === null ? null : (after - before) / items;
}

/**
 * Times this thread has blocked (voluntary context switches): a commit in synchronous FULL
 * sleeps in its fsync, once or more. Null where /proc has no figure.
 */
export function threadSleeps() {
  try {
    const status = readFileSync("/proc/thread-self/status", "utf8");
    const found = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status);
    return found ? Number(found[1]) : null;
  } catch {
    return null;
  }
}
