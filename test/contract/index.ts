import { describe } from "vitest";
import { approvalsContract } from "./approvals.js";
import { attentionContract } from "./attention.js";
import { auditContract } from "./audit.js";
import { budgetContract } from "./budget.js";
import type { OpenLedgerUnderTest } from "./harness.js";
import { producersContract } from "./producers.js";
import { reportContract } from "./report.js";
import { tasksContract } from "./tasks.js";

export type { LedgerUnderTest, OpenLedgerUnderTest } from "./harness.js";

/**
 * Every behaviour of the ledger, its budget and its audit chain, against one backend: a
 * backend is done when this passes unchanged. `open` gives each test a fresh, empty ledger
 * and a raw-SQL hook for the tests that tamper with it.
 */
export function describeLedgerContract(backend: string, open: OpenLedgerUnderTest): void {
  describe(`ledger contract on ${backend}`, () => {
    tasksContract(open);
    budgetContract(open);
    auditContract(open);
    attentionContract(open);
    producersContract(open);
    approvalsContract(open);
    reportContract(open);
  });
}
