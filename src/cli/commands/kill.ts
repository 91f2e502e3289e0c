import type { Command } from "commander";
import { asError, UsageError } from "../../errors.js";
import { KillSwitchWatcher } from "../../killswitch/kill-switch.js";
import {
  type CommandEnv,
  cliActor,
  loadProject,
  openProjectLedger,
  refuseInsideDispatch,
} from "../context.js";

/** `producer kill "reason" [--now]` and `producer resume`: the brake, by hand. */
export function registerKill(program: Command, ctx: () => CommandEnv): void {
  program
    .command("kill")
    .description("pull the kill switch: the Producer stops dispatching at its next poll")
    .argument("<reason>", "why (shown to whoever looks next)")
    .option("--now", "also abort calls in flight; their tasks go back to pending")
    .action(async (reason: string, options: { now?: boolean }) => {
      if (reason.trim() === "")
        throw new UsageError('give a reason, e.g. producer kill "deploy in progress"');
      const env = ctx();
      await withSwitch(env, async (killSwitch) => {
        const state = await killSwitch.arm(
          reason,
          cliActor(env.env),
          options.now ? "now" : "finish",
        );
        env.stdout.write(
          `kill switch armed: ${state.reason}\n${options.now ? "calls in flight will be aborted; their tasks return to pending\n" : "calls in flight will finish; nothing new starts\n"}resume with: producer resume\n`,
        );
      });
    });

  program
    .command("resume")
    .description("release the kill switch so dispatching continues")
    .action(async () => {
      const env = ctx();
      refuseInsideDispatch(
        env.env,
        "producer resume",
        "only a human releases the brake (an agent may pull it)",
      );
      await withSwitch(env, async (killSwitch) => {
        const previous = await killSwitch.disarm(cliActor(env.env));
        env.stdout.write(
          previous
            ? `kill switch released (it said: ${previous.reason})\n`
            : "the kill switch was not armed; nothing to do\n",
        );
      });
    });
}

/**
 * Runs `work` with the project's kill switch, audited through the ledger when it opens. The
 * brake must work even when the ledger does not, so a ledger failure only costs the audit row.
 */
async function withSwitch(env: CommandEnv, work: (killSwitch: KillSwitchWatcher) => Promise<void>) {
  const config = await loadProject(env);
  let ledger: Awaited<ReturnType<typeof openProjectLedger>> | undefined;
  try {
    ledger = await openProjectLedger(config, env.env);
  } catch (error) {
    env.stderr.write(
      `producer: warning: not audited, the ledger did not open: ${asError(error).message}\n`,
    );
  }
  try {
    await work(new KillSwitchWatcher(config.killSwitch, { ledger }));
  } finally {
    await ledger?.close();
  }
}
