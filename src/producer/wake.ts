import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";

/**
 * Why the loop woke: its timer ran out, a watched file (the kill switch) changed, some
 * process committed to the ledger (our own commits included: the watch cannot tell them
 * apart), one of our dispatches ended (a slot is free), or the Producer is stopping.
 */
export type WakeReason = "timer" | "file" | "ledger" | "slot" | "stop";

/**
 * Lets the loop sleep until the next poll, or less: it wakes as soon as a watched file (the
 * kill switch) changes (inotify, no busy polling) or something pokes it (the ledger saw a
 * commit, a dispatch finished, a signal arrived), and says why. Where file watching is
 * unavailable it falls back to the timer alone.
 */
export class Waker {
  private readonly watchers: FSWatcher[] = [];
  private reasons = new Set<WakeReason>();
  private wake: (() => void) | null = null;

  constructor(files: string[], onWatchError?: (message: string) => void) {
    const byDir = new Map<string, Set<string>>();
    for (const file of files) {
      const names = byDir.get(dirname(file)) ?? new Set<string>();
      names.add(basename(file));
      byDir.set(dirname(file), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(String(name))) this.poke("file");
        });
        watcher.on("error", (error) => onWatchError?.(`watching ${dir} stopped: ${error.message}`));
        this.watchers.push(watcher);
      } catch (error) {
        onWatchError?.(`cannot watch ${dir} (${(error as Error).message}); polling only`);
      }
    }
  }

  /** Wakes a waiting loop now, or makes its next wait return at once. */
  poke(reason: WakeReason): void {
    this.reasons.add(reason);
    this.wake?.();
  }

  /**
   * Sleeps up to `ms`, less when poked. Resolves to every reason gathered since the last wait
   * returned (`timer` when the time ran out).
   */
  async wait(ms: number): Promise<ReadonlySet<WakeReason>> {
    if (this.reasons.size === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.reasons.add("timer");
          done();
        }, ms);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = null;
    }
    const reasons = this.reasons;
    this.reasons = new Set();
    return reasons;
  }

  close(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
    this.wake?.();
  }
}
