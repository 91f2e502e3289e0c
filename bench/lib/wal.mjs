// How many pages a transaction writes: the WAL's growth across it, with checkpoints held off by
// a second connection that truncates the WAL before each measured operation.
import { statSync } from "node:fs";
import { openRaw } from "./disk.mjs";

const HEADER = 32;

/**
 * Returns a function measuring WAL frames written by `work()` (sync or async), and the bytes
 * they hold: a frame is one page of the file's own size (`pageSize`) plus a 24-byte header.
 */
export function walMeter(dbFile) {
  const db = openRaw(dbFile, "NORMAL");
  db.pragma("wal_autocheckpoint = 0");
  const pageSize = db.pragma("page_size", { simple: true });
  const FRAME = pageSize + 24;
  const size = () => {
    try {
      return statSync(`${dbFile}-wal`).size;
    } catch {
      return 0;
    }
  };
  return {
    pageSize,
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
