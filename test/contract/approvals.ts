import { describe, expect, it } from "vitest";
import { LedgerError } from "../../src/index.js";
import type { OpenLedgerUnderTest } from "./harness.js";

/** Approval gates: tasks that wait for a human's sign-off before anyone may claim them. */
export function approvalsContract(open: OpenLedgerUnderTest): void {
  describe("approval gates", () => {
    it("a gated task is never claimed until approved, then is; the decision is audited with who and why", async () => {
      const { ledger, clock } = await open();
      const gated = await ledger.insertTask({
        agentOwner: "code",
        title: "Drop the old table",
        requiresApproval: true,
      });
      expect(gated.status).toBe("awaiting_approval");
      expect(await ledger.claimNext("code")).toBeNull();
      expect(await ledger.countByRoleAndStatus()).toEqual([
        { role: "code", status: "awaiting_approval", count: 1 },
      ]);
      clock.advance(60_000);
      const approved = await ledger.approve(gated.id, { actor: "alice", reason: "backup taken" });
      expect(approved).toMatchObject({ status: "pending", attempts: 0 });
      const claimed = await ledger.claimNext("code");
      expect(claimed?.id).toBe(gated.id);
      const audit = await ledger.recentAudit(10, gated.id);
      const decision = audit.find((a) => a.action === "task.approved");
      expect(decision).toMatchObject({ actor: "alice", ts: "2026-05-06T09:01:00.000Z" });
      expect(JSON.parse(decision!.details)).toMatchObject({
        from_status: "awaiting_approval",
        reason: "backup taken",
      });
      expect(JSON.parse(audit.find((a) => a.action === "task.created")!.details)).toMatchObject({
        awaiting_approval: "task",
      });
      expect((await ledger.verifyAuditChain()).ok).toBe(true);
    });

    it("a denial needs a reason and ends the task killed with it, never claimable", async () => {
      const { ledger } = await open();
      const gated = await ledger.insertTask({
        agentOwner: "qa",
        title: "Email every customer",
        requiresApproval: true,
      });
      await expect(ledger.deny(gated.id, { reason: "  " })).rejects.toThrow(
        "reason must not be empty",
      );
      const denied = await ledger.deny(gated.id, { actor: "bob", reason: "not this week" });
      expect(denied).toMatchObject({ status: "killed", lastError: "denied: not this week" });
      expect(denied.finishedAt).not.toBeNull();
      expect(await ledger.claimNext("qa")).toBeNull();
      const decision = (await ledger.recentAudit(10, gated.id)).find(
        (a) => a.action === "task.denied",
      );
      expect(decision?.actor).toBe("bob");
      expect(JSON.parse(decision!.details)).toMatchObject({ reason: "not this week" });
      await expect(ledger.approve(gated.id)).rejects.toThrow(
        `cannot approve task ${gated.id}: it is killed (approve works on awaiting approval tasks)`,
      );
      // A requeue (anyone's, an agent's too) reopens the question rather than overruling it.
      const requeued = await ledger.requeue(gated.id, { actor: "qa" });
      expect(requeued.status).toBe("awaiting_approval");
      expect(await ledger.claimNext("qa")).toBeNull();
    });

    it("approve and deny work only on tasks awaiting approval", async () => {
      const { ledger } = await open();
      const plain = await ledger.insertTask({ agentOwner: "code", title: "plain" });
      await expect(ledger.approve(plain.id)).rejects.toBeInstanceOf(LedgerError);
      await expect(ledger.deny(plain.id, { reason: "no" })).rejects.toThrow(
        `cannot deny task ${plain.id}: it is pending`,
      );
      expect((await ledger.getTask(plain.id))?.status).toBe("pending");
    });

    it("a gated task can be killed, and rerouted without losing its gate", async () => {
      const { ledger } = await open();
      const a = await ledger.insertTask({ agentOwner: "code", title: "a", requiresApproval: true });
      const b = await ledger.insertTask({ agentOwner: "code", title: "b", requiresApproval: true });
      expect((await ledger.kill(a.id, { reason: "moot" })).status).toBe("killed");
      const moved = await ledger.reroute(b.id, "qa");
      expect(moved).toMatchObject({ agentOwner: "qa", status: "awaiting_approval" });
      expect(await ledger.claimNext("qa")).toBeNull();
    });

    it("a role listed in approvalRoles gates every task filed for it, whatever the filer asks", async () => {
      const { ledger } = await open({ approvalRoles: ["design"] });
      const [forDesign, forCode] = await ledger.insertTasks([
        { agentOwner: "design", title: "logo", requiresApproval: false },
        { agentOwner: "code", title: "form" },
      ]);
      expect(forDesign?.status).toBe("awaiting_approval");
      expect(forCode?.status).toBe("pending");
      const created = (await ledger.recentAudit(10, forDesign!.id)).find(
        (a) => a.action === "task.created",
      );
      expect(JSON.parse(created!.details)).toMatchObject({ awaiting_approval: "role" });
    });

    it("refuses a requiresApproval that is not a boolean", async () => {
      const { ledger } = await open();
      await expect(
        ledger.insertTask({
          agentOwner: "code",
          title: "t",
          requiresApproval: "yes" as unknown as boolean,
        }),
      ).rejects.toThrow("requiresApproval must be true or false");
      expect(await ledger.listTasks()).toEqual([]);
    });

    it("inside a dispatch the ledger refuses to approve or deny anything", async () => {
      const outside = await open();
      const gated = await outside.ledger.insertTask({
        agentOwner: "code",
        title: "gated",
        requiresApproval: true,
      });
      const { ledger } = await open({ dispatch: { role: "qa", taskId: gated.id } });
      await expect(ledger.approve(gated.id)).rejects.toThrow(
        `agents may not approve tasks: role qa is running task ${gated.id}`,
      );
      await expect(ledger.deny(gated.id, { reason: "mine" })).rejects.toThrow(
        "agents may not deny tasks",
      );
    });

    it("the status column still refuses a status nobody defined", async () => {
      const { ledger, raw } = await open();
      const t = await ledger.insertTask({ agentOwner: "code", title: "t", requiresApproval: true });
      await expect(raw("UPDATE tasks SET status = 'approved' WHERE id = ?", t.id)).rejects.toThrow(
        /check/i,
      );
    });
  });
}
