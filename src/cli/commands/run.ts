import type { Command } from "commander";
import { utcToday } from "../../clock.js";
import { UsageError } from "../../errors.js";
import { watchConfig } from "../../producer/config-watch.js";
import { attachConsole, type LogFormat } from "../../producer/console.js";
import { Producer } from "../../producer/producer.js";
import { MorningReportWriter } from "../../report/morning-report.js";
import { missingPrompts, missingPromptsMessage } from "../../runtimes/prompt.js";
import { styleFor } from "../../text/style.js";
import { type CommandEnv, loadProject, openProjectLedger } from "../context.js";

/** The exit code of `run --once` when some task failed for good or was escalated. */
export const GAVE_UP_EXIT_CODE = 3;

/** `producer run [--once] [--log-format text|json]`: the long-running dispatcher. */
export function registerRun(program: Command, ctx: () => CommandEnv): void {
  program
    .command("run")
    .description(
      "dispatch tasks to agents until stopped (Ctrl-C: finish calls in flight, twice: abort them)",
    )
    .option("--once", "exit when nothing is claimable and nothing is running")
    .option("--log-format <format>", "text (default) or json, one object per line", "text")
    .action(async (options: { once?: boolean; logFormat: string }) => {
      if (options.logFormat !== "text" && options.logFormat !== "json") {
        throw new UsageError(`--log-format must be text or json, got "${options.logFormat}"`);
      }
      const env = ctx();
      const config = await loadProject(env);
      const ledger = await openProjectLedger(config, env.env, "producer");
      // Said now, not first when a task of the role is dispatched and fails for good. Not a
      // refusal: the other roles' work goes on, and the file may be written meanwhile.
      const missing = missingPromptsMessage(missingPrompts(config));
      if (missing) {
        env.stderr.write(
          `producer: warning: ${missing}; until then their tasks fail when dispatched\n`,
        );
      }
      const producer = new Producer({
        config,
        ledger,
        env: env.env,
        reporter: new MorningReportWriter(config, ledger),
      });
      let status: string | null = null;
      const refreshStatus = async () => {
        const [queue, budget] = await Promise.all([
          ledger.queueSummary(),
          ledger.budgetForDay(utcToday()),
        ]);
        const queued = queue.reduce((n, r) => n + r.ready + r.waitingOnDependencies + r.delayed, 0);
        const spent = budget.reduce((n, r) => n + r.spentUsd, 0);
        status = `running ${producer.inFlight} · queued ${queued} · spent today $${spent.toFixed(2)} of $${config.budget.projectCeilingUsd.toFixed(2)}`;
      };
      const tty = Boolean((env.stdout as { isTTY?: boolean }).isTTY);
      const statusTimer = tty
        ? setInterval(() => void refreshStatus().catch(() => {}), 2000)
        : null;
      statusTimer?.unref();
      const output = attachConsole(producer.events, env.stdout, {
        format: options.logFormat as LogFormat,
        style: styleFor(env.stdout, env.env),
        status: () => status,
      });
      const configWatch = watchConfig(config.configPath, producer.events, env.env);
      let signals = 0;
      const onSignal = () => {
        signals++;
        if (signals === 1) producer.stop();
        else producer.abortInFlight();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      // Tasks this run gave up on (failed for good, or escalated to a human): with --once, a
      // script must be able to tell a clean drain from one that left work for a person.
      const gaveUp = new Set<string>();
      producer.events.on("failed", (e) => {
        if (e.next === "failed" || e.next === "escalated") gaveUp.add(e.taskId);
      });
      producer.events.on("escalated", (e) => gaveUp.add(e.taskId));
      try {
        const { dispatched } = await producer.run({ once: options.once });
        if (options.once && dispatched === 0) {
          // "Nothing to do" and "someone else is doing it" look the same from here: say which.
          const running = await ledger.listTasks({ status: ["in_progress"], limit: 1000 });
          const others = running.filter((t) => t.claimedBy !== ledger.workerIdentity);
          if (others.length > 0) {
            const holders = [...new Set(others.map((t) => t.claimedBy ?? "unknown"))];
            env.stdout.write(
              `nothing dispatched here: ${others.length} task${others.length === 1 ? " is" : "s are"} in progress under another Producer (${holders.slice(0, 5).join(", ")}${holders.length > 5 ? ", ..." : ""})\n`,
            );
          }
        }
        if (options.once && gaveUp.size > 0) {
          env.stderr.write(
            `producer: ${gaveUp.size} task${gaveUp.size === 1 ? "" : "s"} failed for good or went to a human in this run (exit code ${GAVE_UP_EXIT_CODE}); see producer task list --status failed,escalated\n`,
          );
          env.setExitCode(GAVE_UP_EXIT_CODE);
        }
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        if (statusTimer) clearInterval(statusTimer);
        configWatch.close();
        output.close();
        await ledger.close();
      }
    });
}
