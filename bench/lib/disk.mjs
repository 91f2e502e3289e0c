// The disk's ceiling: how many one-row transactions SQLite can commit per second with the
// ledger's settings, and how many write+fdatasync pairs the file system allows.
import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

/** Opens a better-sqlite3 file the way the ledger does: WAL, the given synchronous mode. */
export function openRaw(file, synchronous) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  return db;
}

/**
 * `count` autocommit transactions, each inserting one small row into a table with an integer
 * key (the cheapest durable write SQLite can do), on a warm WAL. Returns commits per second.
 */
export function rawInsertRate(dir, synchronous, count) {
  const db = openRaw(join(dir, `raw-${synchronous}-${process.hrtime.bigint()}.db`), synchronous);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  // Past the first checkpoint (1,000 pages by default) the WAL file is reused instead of grown:
  // the steady state, where a commit's fsync no longer also has to journal a new file size.
  for (let i = 0; i < 1100; i++) insert.run("warm");
  const started = performance.now();
  for (let i = 0; i < count; i++) insert.run("x".repeat(32));
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return count / seconds;
}

/** 4 KiB write + fdatasync, `count` times on one file: what an fsync-per-commit can reach. */
export function fsyncRate(dir, count) {
  const fd = openSync(join(dir, `fsync-${process.hrtime.bigint()}.bin`), "w");
  const page = Buffer.alloc(4096, 1);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    writeSync(fd, page, 0, page.length, (i % 256) * 4096);
    fdatasyncSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  return count / seconds;
}
