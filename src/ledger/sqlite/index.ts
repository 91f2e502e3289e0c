import type { Storage } from "../storage.js";
import { type SqliteOptions, SqliteStorage } from "./storage.js";

/** The SQLite backend's one entry point: the ledger file as a {@link Storage}. */
export function openSqliteStorage(options: SqliteOptions): Promise<Storage> {
  return SqliteStorage.open(options);
}
