import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { loadConfig } from "../config/load.js";
import { asError } from "../errors.js";
import type { ProducerEventEmitter } from "./events.js";

/**
 * Watches producer.yaml while the Producer runs. The running loop never reloads it (half a
 * config change mid-dispatch is worse than none); it says whether the edited file would
 * load, so a broken edit is caught before the next restart, not at it.
 */
export function watchConfig(
  configPath: string,
  events: ProducerEventEmitter,
  env: NodeJS.ProcessEnv,
): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const check = async () => {
    try {
      await loadConfig(configPath, { env });
      events.emit("config_changed", {
        valid: true,
        message: `${basename(configPath)} changed; restart producer run to apply it (still running with the configuration loaded at start)`,
      });
    } catch (error) {
      const first = asError(error).message.split("\n").slice(0, 2).join(" ");
      events.emit("config_changed", {
        valid: false,
        message: `${basename(configPath)} changed and no longer loads (${first}); still running with the configuration loaded at start, fix the file before restarting`,
      });
    }
  };
  try {
    watcher = watch(dirname(configPath), { persistent: false }, (_event, name) => {
      if (name !== basename(configPath)) return;
      clearTimeout(timer);
      // Editors write in bursts (truncate, write, rename): look once it settles.
      timer = setTimeout(() => void check(), 300);
    });
  } catch {
    // Without file watching the Producer still runs on the config it loaded.
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
