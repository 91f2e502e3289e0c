import type { Storage } from "../storage.js";
import { type PostgresOptions, PostgresStorage } from "./storage.js";

/** The PostgreSQL backend's one entry point: a schema of a database as a {@link Storage}. */
export function openPostgresStorage(options: PostgresOptions): Promise<Storage> {
  return PostgresStorage.open(options);
}
