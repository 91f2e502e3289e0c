// The ledger's rules are pure functions: no database, no clock. These pin the decisions every
// backend shares; the contract suite proves each backend applies them.
import { describe, expect, it } from "vitest";
import type { Task } from "../src/index.js";
import { allowanceFor } from "../src/ledger/rules/allowance.js";
import { capHitReason, settlementVerdict } from "../src/ledger/rules/cap-hit.js";
import { guardrailRefusal } from "../src/ledger/rules/guardrails.js";
import {
  afterManualChange,
  claimEndRefusal,
  manualChangeRefusal,
  recoveryEscalates,
} from "../src/ledger/rules/transitions.js";

const limits = { roleCapUsd: 2, ceilingUsd: 10, softCapRatio: 0.8, roleSlots: 1, projectSlots: 4 };
const usage = (roleSpentUsd: number, projectSpentUsd = roleSpentUsd) => ({
  roleSpentUsd,
  roleReservedUsd: 0,
  roleHeld: 0,
  projectSpentUsd,
  projectReservedUsd: 0,
  projectHeld: 0,
});

function task(status: Task["status"], extra: Partial<Task> = {}): Task {
  return { id: "01T", status, agentOwner: "code", claimToken: null, attempts: 1, ...extra } as Task;
}

describe("ledger rules", () => {
  it("guardrails: depth first, then children, then the hourly rate", () => {
    const grails = { maxDepth: 2, maxChildrenPerTask: 3, maxTasksPerRolePerHour: 5 };
    const filing = {
      depth: 1,
      parentId: "01P",
      createdBy: "code",
      existingChildren: 1,
      batchChildren: 1,
      filedLastHour: 2,
      batchFiled: 1,
    };
    expect(guardrailRefusal(grails, filing)).toBeNull();
    expect(guardrailRefusal(grails, { ...filing, depth: 3 })).toMatch(/max_depth 2/);
    expect(guardrailRefusal(grails, { ...filing, existingChildren: 3 })).toMatch(
      /already has 3 child tasks; guardrails.max_children_per_task is 3/,
    );
    expect(guardrailRefusal(grails, { ...filing, filedLastHour: 5 })).toMatch(
      /filed 5 tasks in the last hour/,
    );
    // A human-filed root (no parent) is not limited by the children rule.
    expect(
      guardrailRefusal(grails, { ...filing, parentId: null, existingChildren: 99 }),
    ).toBeNull();
  });

  it("allowance and cap hit: spent money is a cap hit, held money is a wait", () => {
    expect(allowanceFor(usage(0), limits, 0.5)).toEqual({ ok: true, amountUsd: 2 });
    expect(allowanceFor(usage(1.8), limits, 0.5)).toMatchObject({
      ok: false,
      scope: "role",
      transient: false,
    });
    const held = { ...usage(1), roleReservedUsd: 0.9, roleHeld: 1 };
    expect(allowanceFor(held, limits, 0.5)).toMatchObject({ ok: false, transient: true });
    expect(capHitReason("role", limits)).toBe("daily cap $2 reached");
    expect(capHitReason("project", limits)).toBe("project ceiling $10 reached");
  });

  it("settlement verdict: soft cap at the ratio, the ceiling named before the role cap", () => {
    expect(settlementVerdict(usage(1.5), limits)).toEqual({
      softCapReached: false,
      exceeded: null,
    });
    expect(settlementVerdict(usage(1.6), limits).softCapReached).toBe(true);
    expect(settlementVerdict(usage(2.1), limits).exceeded).toEqual({
      scope: "role",
      capUsd: 2,
      reason: "daily cap $2 passed after the fact",
    });
    expect(settlementVerdict(usage(2.1, 10.5), limits).exceeded?.scope).toBe("project");
  });

  it("transitions: who may end a claim, and which manual changes a status allows", () => {
    const claimed = task("in_progress", { claimToken: "tok" });
    expect(claimEndRefusal(claimed, "tok", { kind: "done" })).toBeNull();
    expect(claimEndRefusal(claimed, "other", { kind: "done" })?.code).toBe("conflict");
    expect(claimEndRefusal(task("done"), "tok", { kind: "done" })?.code).toBe("transition");
    expect(manualChangeRefusal(task("done"), { kind: "requeue" })?.message).toBe(
      "cannot requeue task 01T: it is done (requeue works on failed, escalated, killed tasks)",
    );
    expect(manualChangeRefusal(task("failed"), { kind: "requeue" })).toBeNull();
    const sameRole = { kind: "reroute", role: "code" } as const;
    expect(manualChangeRefusal(task("pending"), sameRole, "code")?.code).toBe("transition");
    expect(afterManualChange(task("failed"), { kind: "requeue" })).toEqual({
      status: "pending",
      freshStart: true,
    });
    expect(afterManualChange(task("pending"), { kind: "kill" }).status).toBe("killed");
    expect(recoveryEscalates(task("in_progress", { attempts: 4 }), 3)).toBe(true);
    expect(recoveryEscalates(task("in_progress", { attempts: 3 }), 3)).toBe(false);
  });
});
