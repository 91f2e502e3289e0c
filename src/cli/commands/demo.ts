import { join, relative, sep } from "node:path";
import type { Command } from "commander";
import { utcToday } from "../../clock.js";
import { loadConfig } from "../../config/load.js";
import { scaffoldDemo } from "../../demo/scaffold.js";
import { resolveTargetDir } from "../../init/target-dir.js";
import { attachConsole } from "../../producer/console.js";
import { Producer } from "../../producer/producer.js";
import { MorningReportWriter } from "../../report/morning-report.js";
import { styleFor } from "../../text/style.js";
import { type CommandEnv, openProjectLedger } from "../context.js";
import { serveDashboard } from "./ui.js";

/** `producer demo [--dir DIR] [--ui]`: the whole loop offline, in a minute or less. */
export function registerDemo(program: Command, ctx: () => CommandEnv): void {
  program
    .command("demo")
    .description("run a small offline team of scripted agents end to end (no API key needed)")
    .option("--dir <path>", "where to put the demo project", "producer-demo")
    .option("--ui", "open the dashboard on the demo project afterwards")
    .option(
      "--ledger-url <url>",
      "run it on a PostgreSQL ledger (postgres://user@host/db?schema=name)",
    )
    .action(async (options: { dir: string; ui?: boolean; ledgerUrl?: string }) => {
      const env = ctx();
      const style = styleFor(env.stdout, env.env);
      const started = Date.now();
      // Checked like init's --dir: an absolute path stays absolute, "" and files are refused.
      const { dir, seeded } = await scaffoldDemo(
        resolveTargetDir(env.cwd, options.dir),
        options.ledgerUrl,
      );
      env.stdout.write(
        `${style.bold("ai-producer demo")}: a design → code + art → qa team in ${dir}\n`,
      );
      env.stdout.write(`seeded ${seeded} design tasks; agents file the rest as they work\n\n`);

      const config = await loadConfig(join(dir, "producer.yaml"), { env: env.env });
      const ledger = await openProjectLedger(config, env.env, "producer");
      try {
        const producer = new Producer({
          config,
          ledger,
          env: env.env,
          reporter: new MorningReportWriter(config, ledger),
        });
        let done = 0;
        let retries = 0;
        let spent = 0;
        producer.events.on("succeeded", (e) => {
          done++;
          spent += e.costUsd;
        });
        producer.events.on("retry_scheduled", () => {
          retries++;
        });
        const output = attachConsole(producer.events, env.stdout, {
          format: "text",
          style,
          status: () =>
            `${done} done · ${retries} retried · ${producer.inFlight} running · $${spent.toFixed(4)} spent`,
        });
        try {
          await producer.run({ once: true });
        } finally {
          output.close();
        }

        const report = await new MorningReportWriter(config, ledger).write();
        const [counts, decisions, assets, verification, budget] = await Promise.all([
          ledger.countByRoleAndStatus(),
          ledger.listDecisions(),
          ledger.listAssets(),
          ledger.verifyAuditChain(),
          ledger.budgetForDay(utcToday()),
        ]);
        const byStatus = new Map<string, number>();
        for (const c of counts) byStatus.set(c.status, (byStatus.get(c.status) ?? 0) + c.count);
        const total = [...byStatus.values()].reduce((a, b) => a + b, 0);
        const spend = budget.map((b) => `${b.role} $${b.spentUsd.toFixed(4)}`).join(", ");
        const lines = [
          "",
          style.bold(`Demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s.`),
          `  tasks      ${byStatus.get("done") ?? 0} done, ${byStatus.get("failed") ?? 0} failed, ${byStatus.get("escalated") ?? 0} escalated, ${retries} retried (${seeded} seeded, ${total - seeded} filed by agents)`,
          `  spend      ${spend}; total $${budget.reduce((n, b) => n + b.spentUsd, 0).toFixed(4)} of $${config.budget.projectCeilingUsd.toFixed(2)}`,
          `  ledger     ${decisions.length} decisions, ${assets.length} assets; audit chain ${verification.ok ? "ok" : "BROKEN"} (${verification.rowCount} rows)`,
          `  report     ${report}`,
          "",
          "Look around:",
          `  ${producerCommand(env.cwd)} status --config ${relative(env.cwd, join(dir, "producer.yaml"))}`,
          `  ${producerCommand(env.cwd)} task list --config ${relative(env.cwd, join(dir, "producer.yaml"))}`,
          `  ${producerCommand(env.cwd)} ui --config ${relative(env.cwd, join(dir, "producer.yaml"))}`,
          "",
          "To run the same team with real Claude agents, delete the `runtime: exec` and `command:`",
          "lines of each role in producer.yaml and set ANTHROPIC_API_KEY (or log in with `claude`).",
          "",
        ];
        env.stdout.write(lines.join("\n"));
        if (!verification.ok || (byStatus.get("done") ?? 0) !== total) env.setExitCode(1);
        if (options.ui) await serveDashboard(env, config, ledger, { browser: true });
      } finally {
        await ledger.close();
      }
    });
}

/** How the user can run this same CLI again from `cwd`: npx when installed, else its path. */
function producerCommand(cwd: string): string {
  const script = process.argv[1] ?? "producer";
  if (script.includes(`${sep}node_modules${sep}`)) return "npx producer";
  const path = relative(cwd, script);
  return path.startsWith(".") || path.startsWith(sep) ? path : `.${sep}${path}`;
}
