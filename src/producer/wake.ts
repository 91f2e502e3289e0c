import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";

/**
 * Lets the loop sleep until the next poll, or less: it wakes as soon as a watched file (the
 * kill switch) changes (inotify, no busy polling) or something pokes it (the ledger saw a
 * commit, a dispatch finished, a signal arrived). Where file watching is unavailable it falls
 * back to the timer alone.
 */
export class Waker {
  private readonly watchers: FSWatcher[] = [];
  private pending = false;
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
          if (name === null || names.has(String(name))) this.poke();
        });
        watcher.on("error", (error) => onWatchError?.(`watching ${dir} stopped: ${error.message}`));
        this.watchers.push(watcher);
      } catch (error) {
        onWatchError?.(`cannot watch ${dir} (${(error as Error).message}); polling only`);
      }
    }
  }

  /** Wakes a waiting loop now, or makes its next wait return at once. */
  poke(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Sleeps up to `ms`, less when poked. */
  async wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
    this.pending = false;
  }

  close(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
    this.wake?.();
  }
}
