import * as m0001 from "./0001_init.js";
import * as m0002 from "./0002_audit_by_action.js";
import * as m0003 from "./0003_lean_writes.js";
import * as m0004 from "./0004_attempts_on_task_rows.js";
import * as m0005 from "./0005_attention_and_producers.js";
import * as m0006 from "./0006_task_id_tail.js";
import * as m0007 from "./0007_awaiting_approval.js";
import * as m0008 from "./0008_settled_by_time.js";
import * as m0009 from "./0009_finished_covering.js";

/** One schema step. `version` is its number; versions are applied in order, each once. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration ever shipped, append-only. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, ...m0001 },
  { version: 2, ...m0002 },
  { version: 3, ...m0003 },
  { version: 4, ...m0004 },
  { version: 5, ...m0005 },
  { version: 6, ...m0006 },
  { version: 7, ...m0007 },
  { version: 8, ...m0008 },
  { version: 9, ...m0009 },
];
