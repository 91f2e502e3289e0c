// How many pages a transaction writes: the WAL's growth across it, with checkpoints held off by
// a second connection that truncates the WAL before each measured operation.
import { statSync } from "node:fs";
import { openRaw } from "./disk.mjs";

const FRAME = 4096 + 24;
const HEADER = 32;

/** Returns a function measuring WAL frames written by `work()` (sync or async). */
export function walMeter(dbFile) {
  const db = openRaw(dbFile, "NORMAL");
  db.pragma("wal_autocheckpoint = 0");
  const size = () => {
    try {
      return statSync(`${dbFile}-wal`).size;
    } catch {
      return 0;
    }
  };
  return {
    reset() {
      db.pragma("wal_checkpoint(TRUNCATE)");
    },
    async frames(work) {
      const before = size();
      const result = await work();
      const after = size();
      return {
        result,
        frames: (after - before - (before === 0 && after > 0 ? HEADER : 0)) / FRAME,
      };
    },
    close() {
      db.close();
    },
  };
}
