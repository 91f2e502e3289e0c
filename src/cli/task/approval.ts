import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { type CommandEnv, cliActor, refuseInsideDispatch, withProjectLedger } from "../context.js";

const WHY =
  "an agent may not sign off work (its own or any other); a human runs this from a shell, the page or the ntfy link";

/**
 * `producer task approve|deny ID`: a human's decision on a task awaiting approval. Refused
 * inside a dispatch here (clear message, exit 2) and again by the ledger (whatever calls it).
 */
export function registerApproval(task: Command, ctx: () => CommandEnv, idHelp: string): void {
  task
    .command("approve")
    .description("sign off a task awaiting approval: it becomes pending and is dispatched")
    .argument("<id>", idHelp)
    .option("--reason <text>", "why (kept in the audit log)")
    .action(async (id: string, flags: { reason?: string }) => {
      const env = ctx();
      refuseInsideDispatch(env.env, "producer task approve", WHY);
      const actor = cliActor(env.env);
      const t = await withProjectLedger(env, async (ledger) =>
        ledger.approve(await ledger.resolveTaskId(id), { actor, reason: flags.reason }),
      );
      env.stdout.write(`approved ${t.id} (${t.agentOwner}): pending, it will be dispatched\n`);
    });

  task
    .command("deny")
    .description("refuse a task awaiting approval: it ends killed and never runs")
    .argument("<id>", idHelp)
    .option("--reason <text>", "why (required: kept on the task and in the audit log)")
    .action(async (id: string, flags: { reason?: string }) => {
      const env = ctx();
      refuseInsideDispatch(env.env, "producer task deny", WHY);
      const reason = flags.reason?.trim();
      if (!reason) {
        throw new UsageError(
          'producer task deny needs --reason "<why>": whoever filed it reads it',
        );
      }
      const actor = cliActor(env.env);
      const t = await withProjectLedger(env, async (ledger) =>
        ledger.deny(await ledger.resolveTaskId(id), { actor, reason }),
      );
      env.stdout.write(`denied ${t.id} (${t.agentOwner}): killed: ${reason}\n`);
    });
}
