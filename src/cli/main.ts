import { Command, CommanderError } from "commander";
import { asError, ProducerError, UsageError } from "../errors.js";
import { PACKAGE_VERSION } from "../package-files.js";
import type { CommandEnv } from "./context.js";

type Register = (program: Command, ctx: () => CommandEnv) => void;

/**
 * Every command, in help order, loaded on demand: `producer task add` should not pay for
 * the Producer loop, the wizard or the dashboard.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  init: async () => (await import("./commands/init.js")).registerInit,
  task: async () => (await import("./commands/task.js")).registerTask,
  decision: async () => (await import("./commands/records.js")).registerRecords,
  asset: async () => (await import("./commands/records.js")).registerRecords,
  status: async () => (await import("./commands/status.js")).registerStatus,
  attention: async () => (await import("./commands/attention.js")).registerAttention,
  metrics: async () => (await import("./commands/metrics.js")).registerMetrics,
  kill: async () => (await import("./commands/kill.js")).registerKill,
  resume: async () => (await import("./commands/kill.js")).registerKill,
  pricing: async () => (await import("./commands/pricing.js")).registerPricing,
  run: async () => (await import("./commands/run.js")).registerRun,
  report: async () => (await import("./commands/report.js")).registerReport,
  ui: async () => (await import("./commands/ui.js")).registerUi,
  audit: async () => (await import("./commands/audit.js")).registerAudit,
  demo: async () => (await import("./commands/demo.js")).registerDemo,
};

/** The command named in argv (skipping global options and their values), if any. */
function commandIn(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-c" || arg === "--config") i++;
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

/**
 * Builds the `producer` command tree: only the command being run, or all of them for help
 * and for names we do not know (so commander can suggest the right one).
 */
export async function buildProgram(ctx: CommandEnv, argv: string[] = []): Promise<Command> {
  const program = new Command("producer")
    .description("Run a team of AI agents on a shared task ledger, within budget, with a brake.")
    .version(PACKAGE_VERSION, "-V, --version")
    .option("-c, --config <path>", "path of producer.yaml (default: found from the current folder)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  const current = (): CommandEnv => {
    const config = (program.opts() as { config?: string }).config;
    // An empty --config would quietly fall back to the search from the current folder.
    if (config?.trim() === "") throw new UsageError("--config needs the path of producer.yaml");
    return { ...ctx, configPath: config ?? ctx.configPath };
  };
  const named = commandIn(argv);
  const loaders = named && COMMANDS[named] ? [COMMANDS[named]] : Object.values(COMMANDS);
  const registered = new Set<Register>();
  for (const load of loaders) {
    const register = await load();
    if (registered.has(register)) continue;
    registered.add(register);
    register(program, current);
  }
  return program;
}

/**
 * Runs the CLI and resolves to the exit code: 0 ok, 1 operational failure, 2 usage error.
 * Known errors print one line; only unexpected ones show a stack, and only with PRODUCER_DEBUG.
 */
/**
 * A reader that stops reading (`producer report | head`) closes the pipe: further output has
 * nowhere to go, which is not an error of ours. The command carries on and exits as it would
 * have; without a listener, Node would end it with an EPIPE stack trace.
 */
function quietWhenClosed(stream: NodeJS.WritableStream): void {
  const gone = new Set(["EPIPE", "ERR_STREAM_DESTROYED"]);
  if (typeof stream.on !== "function" || stream.listenerCount?.("error") > 0) return;
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (!gone.has(error.code ?? "")) throw error;
  });
}

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
  for (const stream of [io.stdout, io.stderr]) quietWhenClosed(stream);
  const ctx: CommandEnv = {
    ...io,
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = await buildProgram(ctx, argv);
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
