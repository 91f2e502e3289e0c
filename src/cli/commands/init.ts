import { isAbsolute, relative, sep } from "node:path";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import { ProducerError } from "../../errors.js";
import { ONBOARDING_FILE, ONBOARDING_REQUEST, SEED_EXAMPLE_FILE } from "../../init/documents.js";
import { findOnPath, handOver } from "../../init/handover.js";
import { shellQuote } from "../../init/prompt-file.js";
import { parseRoles } from "../../init/roles.js";
import {
  existingOwnedFiles,
  InitConflict,
  type ScaffoldResult,
  scaffoldProject,
} from "../../init/scaffold.js";
import { resolveTargetDir } from "../../init/target-dir.js";
import { askAnswers, defaultAnswers, InitCancelled } from "../../init/wizard.js";
import { type Style, styleFor } from "../../text/style.js";
import type { CommandEnv } from "../context.js";

interface InitOptions {
  dir?: string;
  force?: boolean;
  nonInteractive?: boolean;
  /** false with --no-chat. */
  chat: boolean;
  roles?: string;
  ledgerUrl?: string;
}

const HELP_AFTER = `
On a terminal, init asks three questions: the project name (default: the folder's name), an
ntfy topic for push notifications (default: a name with a random suffix; clear it for none)
and the subject prefix of notification titles (default: the project name). Then it hands
over to Claude Code (\`claude\`, when it is on PATH) with ONBOARDING.md, to design the roles.

With --non-interactive, or when stdin or stdout is not a terminal, it asks nothing: the
project name and subject prefix come from the folder's name, ntfy push stays off, and there
is no hand-over (start it later with \`claude\` in the project folder).

Without --force, init refuses to touch an existing producer.yaml, role prompt, seed example
or ONBOARDING.md. It only ever adds to .gitignore, .env.example and CLAUDE.md, and it never
replaces an existing ledger.

Examples:
  producer init
  producer init --dir my-game --roles design,code,art,qa
  producer init --non-interactive --dir /srv/agents/site`;

/** `producer init`: scaffold a project, then hand over to Claude Code to design its roles. */
export function registerInit(program: Command, ctx: () => CommandEnv): void {
  program
    .command("init")
    .description(
      "create a project: producer.yaml, role prompts, the ledger and an onboarding brief",
    )
    .option("--dir <path>", "the project folder, created when missing (default: the current one)")
    .option("--force", "overwrite existing project files (an existing ledger is always kept)")
    .option("--non-interactive", "ask nothing: defaults from the folder name, no ntfy, no chat")
    .option("--no-chat", "do not start claude with ONBOARDING.md at the end")
    .option("--roles <names>", "comma-separated roles (default: producer,design,code,qa)")
    .option(
      "--ledger-url <url>",
      "keep the ledger in PostgreSQL (postgres://user@host/db?schema=name) instead of a SQLite file",
    )
    .addHelpText("after", HELP_AFTER)
    .action(async (options: InitOptions) => {
      const env = ctx();
      try {
        await runInit(env, options);
      } catch (error) {
        // The wizard has said it was cancelled already.
        if (error instanceof InitCancelled) return env.setExitCode(error.exitCode);
        if (!(error instanceof ProducerError)) throw error;
        env.stderr.write(`producer init: ${error.message}\n`);
        env.setExitCode(error.exitCode);
      }
    });
}

const isTty = (stream: unknown) => Boolean((stream as { isTTY?: boolean }).isTTY);

async function runInit(env: CommandEnv, options: InitOptions): Promise<void> {
  const roles = parseRoles(options.roles);
  const dir = resolveTargetDir(env.cwd, options.dir);
  // Refuse before asking anything: answering questions only to be refused is worse.
  const existing = existingOwnedFiles(dir, roles);
  if (existing.length > 0 && !options.force) throw new InitConflict(existing);

  const terminal = isTty(process.stdin) && isTty(env.stdout);
  const interactive = terminal && !options.nonInteractive;
  let answers = defaultAnswers(dir);
  if (interactive) {
    try {
      // On a terminal env.stdout is the process's own tty stream, a real Writable.
      answers = await askAnswers(dir, { input: process.stdin, output: env.stdout as Writable });
    } finally {
      // Let go of the terminal, so a child started next reads its keys alone.
      process.stdin.pause();
    }
  }

  if (options.ledgerUrl !== undefined) answers = { ...answers, ledgerUrl: options.ledgerUrl };
  const result = await scaffoldProject({ dir, roles, answers, force: Boolean(options.force) });
  const style = styleFor(env.stdout, env.env);
  const write = (text = "") => env.stdout.write(`${text}\n`);
  const asked = interactive
    ? null
    : `No questions asked (${options.nonInteractive ? "--non-interactive" : "not a terminal"}): names come from the folder, ntfy push is off.`;
  printSummary(write, style, result, env.cwd, asked);
  write();

  const later = laterCommand(env.cwd, dir);
  if (!interactive || !options.chat) {
    const why = !options.chat
      ? "--no-chat"
      : options.nonInteractive
        ? "--non-interactive"
        : "not a terminal";
    write(`Onboarding chat skipped (${why}). To design your agents with Claude Code, run:`);
    write(`  ${later}`);
    return;
  }
  const claude = findOnPath("claude", env.env);
  if (claude === null) {
    write("Claude Code (`claude`) is not on your PATH, so the onboarding chat is skipped.");
    write(`Install it, then run \`${later}\`: it reads ${ONBOARDING_FILE} by itself.`);
    return;
  }
  write(`Handing over to Claude Code with ${ONBOARDING_FILE} (leave it to come back here)...`);
  write();
  const outcome = await handOver(claude, dir, ONBOARDING_REQUEST, env.env);
  if (!outcome.started) {
    write(`Claude Code did not start (${outcome.error.message}). Try later: ${later}`);
  }
}

/** `claude`, or `cd <dir> && claude` when the project is not the current folder. */
function laterCommand(cwd: string, dir: string): string {
  const rel = relative(cwd, dir);
  if (rel === "") return "claude";
  const shown = rel.startsWith("..") || isAbsolute(rel) ? dir : rel;
  return `cd ${shellQuote(shown)} && claude`;
}

const ACTION_WIDTH = 12;

/**
 * How the user runs this ai-producer from the project: `npx producer` when it is installed in
 * the project or a folder above it (its `node_modules`), plain `producer` otherwise (a global
 * install, or a checkout run by path).
 */
export function producerCommand(script: string, projectDir: string): string {
  const at = script.split(sep).lastIndexOf("node_modules");
  if (at <= 0) return "producer";
  const owner = script.split(sep).slice(0, at).join(sep) || sep;
  const rel = relative(owner, projectDir);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel)) ? "npx producer" : "producer";
}

function printSummary(
  write: (text?: string) => void,
  style: Style,
  result: ScaffoldResult,
  cwd: string,
  asked: string | null,
): void {
  const roles = Object.keys(result.config.agents);
  const { notifications } = result.config;
  write(
    `${style.green("Created")} the ai-producer project ${style.bold(result.config.projectName)} in ${result.dir}`,
  );
  for (const entry of result.entries) {
    const added = entry.added?.length ? ` (added ${entry.added.join(", ")})` : "";
    write(`  ${style.dim(entry.action.padEnd(ACTION_WIDTH))}${entry.path}${added}`);
  }
  const ledgerNote =
    result.ledger.action === "kept"
      ? " (an existing ledger: kept as it was, tasks and all)"
      : " (a new, empty ledger)";
  write(
    `  ${style.dim(result.ledger.action.padEnd(ACTION_WIDTH))}${result.ledger.path}${ledgerNote}`,
  );
  write();
  write(`Roles: ${roles.join(", ")}`);
  write(
    notifications.ntfyTopic
      ? `ntfy push: topic ${notifications.ntfyTopic} on ${notifications.ntfyServer} (subscribe to it in the ntfy app)`
      : "ntfy push: off (set notifications.ntfy_topic in producer.yaml to turn it on)",
  );
  if (asked) write(asked);
  write();
  write(style.bold("Next steps:"));
  const rel = relative(cwd, result.dir);
  if (rel !== "") write(`  cd ${shellQuote(rel.startsWith("..") ? result.dir : rel)}`);
  write("  1. Fill in the TODOs of each agents/<role>/system_prompt.md (ONBOARDING.md walks you");
  write("     through it with Claude Code).");
  const producer = producerCommand(process.argv[1] ?? "", result.dir);
  write(`  2. Seed the queue:   ${producer} task import ${SEED_EXAMPLE_FILE}`);
  write(`     or one task:      ${producer} task add --agent ${roles[0]} --title "..."`);
  write(`  3. Drain it once:    ${producer} run --once`);
  write("     (needs ANTHROPIC_API_KEY, in the environment or .env, or a Claude login)");
}
