import type { Command } from "commander";
import type { ProducerConfig } from "../../config/types.js";
import { UsageError } from "../../errors.js";
import type { Ledger } from "../../ledger/ledger.js";
import { type CommandEnv, loadProject, openProjectLedger } from "../context.js";

/** `producer ui [--port N] [--no-browser]`: the local dashboard, until Ctrl-C. */
export function registerUi(program: Command, ctx: () => CommandEnv): void {
  program
    .command("ui")
    .description("serve the local dashboard on 127.0.0.1 (from port 5050 up) and open it")
    .option("--port <port>", "listen on exactly this port (an error when it is taken)")
    .option("--no-browser", "print the address without opening a browser")
    .action(async (options: { port?: string; browser: boolean }) => {
      const port = options.port === undefined ? undefined : parsePort(options.port, "--port");
      const env = ctx();
      const config = await loadProject(env);
      const ledger = await openProjectLedger(config, env.env, "ui");
      try {
        await serveDashboard(env, config, ledger, { port, browser: options.browser });
      } finally {
        await ledger.close();
      }
    });
}

/**
 * Serves the dashboard of an open project until Ctrl-C, opening the browser when asked.
 * `producer ui` and `producer demo --ui` both end here.
 */
export async function serveDashboard(
  env: CommandEnv,
  config: ProducerConfig,
  ledger: Ledger,
  options: { port?: number; browser: boolean },
): Promise<void> {
  // Loaded here, not at the top: quick commands should not pay for the web server.
  const { startDashboard } = await import("../../web/server.js");
  const dashboard = await startDashboard({
    config,
    ledger,
    port: options.port,
    onError: (message) => env.stderr.write(`producer ui: ${message}\n`),
  });
  env.stdout.write(
    `dashboard of ${config.projectName}: ${dashboard.url}\n(bound to 127.0.0.1 only; Ctrl-C to stop)\n`,
  );
  if (options.browser) {
    const { openBrowser } = await import("../../web/open-browser.js");
    if (!(await openBrowser(dashboard.url))) {
      env.stdout.write("could not open a browser here: open the address above yourself\n");
    }
  }
  await untilStopped();
  await dashboard.close();
}

/** A TCP port given as `flag`: 1 to 65535, or 0 for "any free one" when `anyAllowed`. */
export function parsePort(value: string, flag: string, anyAllowed = false): number {
  const port = Number(value);
  const lowest = anyAllowed ? 0 : 1;
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(port) || port < lowest || port > 65_535) {
    throw new UsageError(
      `${flag} must be a whole number from ${lowest} to 65535${anyAllowed ? " (0: any free port)" : ""}, got "${value}"`,
    );
  }
  return port;
}

/** Resolves at the first Ctrl-C or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
