import type { Command } from "commander";
import type { Registry } from "prom-client";
import { utcToday } from "../../clock.js";
import type { ProducerConfig } from "../../config/types.js";
import { UsageError } from "../../errors.js";
import type { Ledger } from "../../ledger/ledger.js";
import { watchConfig } from "../../producer/config-watch.js";
import { attachConsole, type LogFormat } from "../../producer/console.js";
import { Producer } from "../../producer/producer.js";
import { MorningReportWriter } from "../../report/morning-report.js";
import { missingPrompts, missingPromptsMessage } from "../../runtimes/prompt.js";
import { styleFor } from "../../text/style.js";
import type { MetricsServer } from "../../web/metrics-server.js";
import { type CommandEnv, loadProject, openProjectLedger } from "../context.js";
import { parsePort } from "./ui.js";

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
    .option(
      "--metrics-port <port>",
      "serve Prometheus metrics at http://127.0.0.1:<port>/metrics (0: any free port)",
    )
    .action(async (options: { once?: boolean; logFormat: string; metricsPort?: string }) => {
      if (options.logFormat !== "text" && options.logFormat !== "json") {
        throw new UsageError(`--log-format must be text or json, got "${options.logFormat}"`);
      }
      const metricsPort =
        options.metricsPort === undefined
          ? undefined
          : parsePort(options.metricsPort, "--metrics-port", true);
      const env = ctx();
      const config = await loadProject(env);
      const opened = await openProjectLedger(config, env.env, "producer");
      // Only a scraped Producer loads prom-client and pays for timing its writes.
      const metrics =
        metricsPort === undefined
          ? null
          : (await import("../../metrics/registry.js")).newMetricsRegistry();
      const ledger = metrics
        ? (await import("../../metrics/write-latency.js")).timeLedgerWrites(opened, metrics)
        : opened;
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
      let served: MetricsServer | null = null;
      if (metrics && metricsPort !== undefined) {
        try {
          served = await serveMetrics(metrics, metricsPort, { config, ledger, producer });
        } catch (error) {
          await ledger.close();
          throw error;
        }
        env.stdout.write(`metrics: ${served.url}\n`);
      }
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
        await served?.close();
        await ledger.close();
      }
    });
}

/**
 * Serves the Producer's metrics: the ledger's (as `producer metrics` prints them) and this
 * process's own dispatch counters, idle state and write latency.
 */
async function serveMetrics(
  registry: Registry,
  port: number,
  run: { config: ProducerConfig; ledger: Ledger; producer: Producer },
): Promise<MetricsServer> {
  // Loaded here, not at the top: a run without --metrics-port does not pay for the server.
  const [{ registerLedgerMetrics }, { registerProducerMetrics }, { startMetricsServer }] =
    await Promise.all([
      import("../../metrics/ledger-metrics.js"),
      import("../../metrics/producer-metrics.js"),
      import("../../web/metrics-server.js"),
    ]);
  const { KillSwitchWatcher } = await import("../../killswitch/kill-switch.js");
  const { config, ledger, producer } = run;
  registerLedgerMetrics(registry, {
    config,
    ledger,
    clock: ledger.clock,
    killSwitch: new KillSwitchWatcher(config.killSwitch, { clock: ledger.clock, ledger }),
  });
  registerProducerMetrics(registry, producer);
  return startMetricsServer(registry, port);
}
