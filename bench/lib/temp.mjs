// Temp folders and child processes the bench creates, removed/ended on exit whatever happens.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs = new Set();
const children = new Set();

/** A fresh folder under os.tmpdir() (same disk as any user's ledger here), removed at exit. */
export function tempDir(prefix = "ai-producer-bench-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Removes one temp folder now. */
export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Tracks a child process so that it is killed (by its pid) if the bench stops early. */
export function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Kills the tracked children still running and removes every temp folder. */
export function cleanupAll() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

let installed = false;
/** Cleans up on normal exit and on Ctrl-C / SIGTERM. */
export function installCleanup() {
  if (installed) return;
  installed = true;
  process.on("exit", cleanupAll);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      cleanupAll();
      process.exit(130);
    });
  }
}
