import type { Command } from "commander";
import { parseReportDay, writeMorningReport } from "../../report/morning-report.js";
import { type CommandEnv, withProjectLedger } from "../context.js";

/** `producer report [--date YYYY-MM-DD]`: writes the morning report and prints its path. */
export function registerReport(program: Command, ctx: () => CommandEnv): void {
  program
    .command("report")
    .description("write the morning report of a UTC day and print its path")
    .option("--date <day>", "the UTC day to report, YYYY-MM-DD (default: today)")
    .action(async (options: { date?: string }) => {
      const day = options.date === undefined ? undefined : parseReportDay(options.date);
      const env = ctx();
      const file = await withProjectLedger(env, (ledger, config) =>
        writeMorningReport(config, ledger, { day }),
      );
      env.stdout.write(`${file}\n`);
    });
}
