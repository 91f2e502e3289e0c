import * as m0001 from "./0001_init.js";
import * as m0005 from "./0005_attention_and_producers.js";
import * as m0006 from "./0006_task_id_tail.js";
import * as m0007 from "./0007_awaiting_approval.js";
import * as m0008 from "./0008_settled_by_time.js";
import * as m0009 from "./0009_finished_covering.js";

/** One schema step; numbers are shared with the SQLite backend's (see 0001_init.ts). */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** What SQLite needed 0002-0004 for, this schema had from its 0001. */
const reachedBy0001 = (name: string) => ({ name, sql: "" });

/** Every migration ever shipped for PostgreSQL, append-only. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, ...m0001 },
  { version: 2, ...reachedBy0001("audit_by_action") },
  { version: 3, ...reachedBy0001("lean_writes") },
  { version: 4, ...reachedBy0001("attempts_on_task_rows") },
  { version: 5, ...m0005 },
  { version: 6, ...m0006 },
  { version: 7, ...m0007 },
  { version: 8, ...m0008 },
  { version: 9, ...m0009 },
];
