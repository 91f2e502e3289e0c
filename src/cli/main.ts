import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { asError, ProducerError } from "../errors.js";
import { registerAudit } from "./commands/audit.js";
import { registerDemo } from "./commands/demo.js";
import { registerInit } from "./commands/init.js";
import { registerKill } from "./commands/kill.js";
import { registerPricing } from "./commands/pricing.js";
import { registerReport } from "./commands/report.js";
import { registerRun } from "./commands/run.js";
import { registerStatus } from "./commands/status.js";
import { registerTask } from "./commands/task.js";
import { registerUi } from "./commands/ui.js";
import type { CommandEnv } from "./context.js";

const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

/** Builds the `producer` command tree. Commands read their environment through `ctx`. */
export function buildProgram(ctx: CommandEnv): Command {
  const program = new Command("producer")
    .description("Run a team of AI agents on a shared task ledger, within budget, with a brake.")
    .version(VERSION, "-V, --version")
    .option("-c, --config <path>", "path of producer.yaml (default: found from the current folder)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  const current = (): CommandEnv => ({
    ...ctx,
    configPath: (program.opts() as { config?: string }).config ?? ctx.configPath,
  });
  registerInit(program, current);
  registerTask(program, current);
  registerStatus(program, current);
  registerKill(program, current);
  registerPricing(program, current);
  registerRun(program, current);
  registerReport(program, current);
  registerUi(program, current);
  registerAudit(program, current);
  registerDemo(program, current);
  return program;
}

/**
 * Runs the CLI and resolves to the exit code: 0 ok, 1 operational failure, 2 usage error.
 * Known errors print one line; only unexpected ones show a stack, and only with PRODUCER_DEBUG.
 */
export async function main(
  argv: string[],
  io: Omit<CommandEnv, "setExitCode"> = {
    cwd: process.cwd(),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
  },
): Promise<number> {
  let exitCode = 0;
  const ctx: CommandEnv = {
    ...io,
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; everything else it raises is usage.
      if (error.exitCode === 0) return 0;
      return 2;
    }
    if (error instanceof ProducerError) {
      ctx.stderr.write(`producer: ${error.message}\n`);
      return error.exitCode;
    }
    const err = asError(error);
    ctx.stderr.write(`producer: unexpected error: ${err.message}\n`);
    if (ctx.env.PRODUCER_DEBUG) ctx.stderr.write(`${err.stack}\n`);
    else ctx.stderr.write("  (set PRODUCER_DEBUG=1 for the stack trace)\n");
    return 1;
  }
}
