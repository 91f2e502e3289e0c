import type { Command } from "commander";
import { KillSwitchWatcher } from "../../killswitch/kill-switch.js";
import { registerLedgerMetrics } from "../../metrics/ledger-metrics.js";
import { metricsText, newMetricsRegistry } from "../../metrics/registry.js";
import type { CommandEnv } from "../context.js";
import { withProjectLedger } from "../context.js";

/**
 * `producer metrics`: the ledger's metrics once, in the Prometheus text format, for a
 * textfile collector or a quick look. The counters of a running Producer's own dispatches are
 * served by `producer run --metrics-port` only: this process dispatched nothing.
 */
export function registerMetrics(program: Command, ctx: () => CommandEnv): void {
  program
    .command("metrics")
    .description("print the ledger's metrics in the Prometheus text format")
    .action(async () => {
      const env = ctx();
      await withProjectLedger(env, async (ledger, config) => {
        const registry = newMetricsRegistry();
        registerLedgerMetrics(registry, {
          config,
          ledger,
          clock: ledger.clock,
          killSwitch: new KillSwitchWatcher(config.killSwitch, { clock: ledger.clock, ledger }),
        });
        env.stdout.write(await metricsText(registry));
      });
    });
}
