// Counts SQLITE_BUSY errors raised by better-sqlite3 in this process, before the ledger's own
// retry loop hides them. Import it before opening a ledger. The library and the bench resolve
// the same better-sqlite3 module, so wrapping its Statement prototype sees every statement the
// ledger runs, including the BEGIN IMMEDIATE of its transactions.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

export const busy = { count: 0, byStatement: {} };

const probe = new Database(":memory:");
const proto = Object.getPrototypeOf(probe.prepare("SELECT 1"));
probe.close();

for (const method of ["run", "get", "all"]) {
  const original = proto[method];
  proto[method] = function (...args) {
    try {
      return original.apply(this, args);
    } catch (error) {
      if (typeof error?.code === "string" && error.code.startsWith("SQLITE_BUSY")) {
        busy.count++;
        const key = String(this.source).trim().split(/\s+/).slice(0, 3).join(" ");
        busy.byStatement[key] = (busy.byStatement[key] ?? 0) + 1;
      }
      throw error;
    }
  };
}
