/**
 * Lays out a new ai-producer project: the files, then the ledger. Everything that can refuse
 * (a file in the way, an existing ledger that does not open) is checked before the first
 * write, so a refusal leaves the folder as it was.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { CONFIG_FILE_NAME } from "../config/find.js";
import { parseLedgerUrl } from "../config/ledger-url.js";
import { parseConfig } from "../config/load.js";
import type { ProducerConfig } from "../config/types.js";
import { asError, LedgerMissing, ProducerError } from "../errors.js";
import { openLedger } from "../ledger/open.js";
import { type InitAnswers, promptPath, renderConfig } from "./config-file.js";
import {
  mergeClaudeMd,
  mergeEnvExample,
  mergeGitignore,
  ONBOARDING_FILE,
  renderClaudeMd,
  renderEnvExample,
  renderOnboarding,
  renderSeedExample,
  SEED_EXAMPLE_FILE,
} from "./documents.js";
import { renderSystemPrompt } from "./prompt-file.js";
import { type ScaffoldRole, scaffoldRoles } from "./roles.js";

/** What to scaffold, and where. */
export interface ScaffoldOptions {
  /** Absolute path of the project folder; created when missing. */
  dir: string;
  roles: readonly string[];
  answers: InitAnswers;
  /** Overwrite the files init owns when they exist already. */
  force: boolean;
}

/** What happened to one file. */
export type FileAction = "created" | "overwritten" | "appended" | "unchanged";

/** One line of the summary: a path relative to the project folder, and what was done. */
export interface ScaffoldEntry {
  path: string;
  action: FileAction;
  /** What was added, for files init only appends to. */
  added?: string[];
}

/** What {@link scaffoldProject} did. */
export interface ScaffoldResult {
  dir: string;
  entries: ScaffoldEntry[];
  /** The ledger, relative to the project folder, and whether it was new or kept as it was. */
  ledger: { path: string; action: "created" | "kept" };
  /** The scaffolded producer.yaml, loaded. */
  config: ProducerConfig;
}

/** Some of the files init writes exist already, and `--force` was not given. */
export class InitConflict extends ProducerError {
  constructor(readonly files: readonly string[]) {
    super(`these files already exist: ${files.join(", ")}; re-run with --force to overwrite them`);
  }
}

/**
 * The files init owns outright, relative to the project folder. They are refused without
 * `--force`; the others (.gitignore, .env.example, CLAUDE.md) are only ever added to.
 */
export function ownedFiles(roles: readonly string[]): string[] {
  return [CONFIG_FILE_NAME, ...roles.map(promptPath), SEED_EXAMPLE_FILE, ONBOARDING_FILE];
}

/** Which of the files init owns exist in `dir` already. */
export function existingOwnedFiles(dir: string, roles: readonly string[]): string[] {
  return ownedFiles(roles).filter((file) => existsSync(join(dir, file)));
}

function readIfPresent(path: string): string | null {
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}

/** A path relative to the project folder, with "/" whatever the platform. */
function shown(dir: string, path: string): string {
  return relative(dir, path).split(sep).join("/");
}

/**
 * Opens an existing ledger once before anything is written: it is migrated if it is old, and
 * a file that is not a ledger stops init while the folder is still untouched.
 */
async function checkExistingLedger(config: ProducerConfig, dir: string): Promise<void> {
  try {
    const ledger = await openLedger(config, { create: false });
    await ledger.close();
  } catch (error) {
    if (config.ledgerUrl) throw error; // Already names the server, the schema and what to do.
    throw new ProducerError(
      `${shown(dir, config.ledgerDb)} exists but does not open as a ledger (${asError(error).message}): move it away, or point ledger_db elsewhere`,
      { cause: error },
    );
  }
}

/** Whether `ledger_url`'s schema holds a ledger already (a server that cannot be reached throws). */
async function ledgerSchemaExists(config: ProducerConfig): Promise<boolean> {
  try {
    await (await openLedger(config, { create: false })).close();
    return true;
  } catch (error) {
    if (error instanceof LedgerMissing) return false;
    throw error;
  }
}

/**
 * Writes the project into `options.dir`.
 *
 * @throws InitConflict when files init owns exist and `force` is off (nothing is written).
 * @throws ProducerError when an existing ledger does not open, or a write fails.
 */
export async function scaffoldProject(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const { dir, answers } = options;
  const roles: ScaffoldRole[] = scaffoldRoles(options.roles);
  const configText = renderConfig(answers, roles);
  // Load what is about to be written, with no env overrides: the file must stand on its own.
  const config = parseConfig(configText, join(dir, CONFIG_FILE_NAME), {});

  const existing = existingOwnedFiles(dir, options.roles);
  if (existing.length > 0 && !options.force) throw new InitConflict(existing);
  const ledgerExists = config.ledgerUrl
    ? await ledgerSchemaExists(config)
    : existsSync(config.ledgerDb);
  if (ledgerExists) await checkExistingLedger(config, dir);

  const entries: ScaffoldEntry[] = [];
  const write = (file: string, text: string, action: FileAction = "created") => {
    const path = join(dir, file);
    const was = existsSync(path);
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    } catch (error) {
      throw new ProducerError(`cannot write ${file}: ${asError(error).message}`, { cause: error });
    }
    return { path: file, action: was && action === "created" ? "overwritten" : action };
  };

  entries.push(write(CONFIG_FILE_NAME, configText));
  for (const role of roles) {
    entries.push(write(promptPath(role.name), renderSystemPrompt(role, answers.projectName)));
  }
  entries.push(write(SEED_EXAMPLE_FILE, renderSeedExample(roles)));
  entries.push(write(ONBOARDING_FILE, renderOnboarding(answers, roles)));

  const claudeMd = readIfPresent(join(dir, "CLAUDE.md"));
  if (claudeMd === null) entries.push(write("CLAUDE.md", renderClaudeMd(answers.projectName)));
  else {
    const merged = mergeClaudeMd(claudeMd);
    entries.push(
      merged === null
        ? { path: "CLAUDE.md", action: "unchanged" }
        : { ...write("CLAUDE.md", merged, "appended"), added: [`@${ONBOARDING_FILE}`] },
    );
  }

  const envExample = readIfPresent(join(dir, ".env.example"));
  if (envExample === null) entries.push(write(".env.example", renderEnvExample()));
  else {
    const merged = mergeEnvExample(envExample);
    entries.push(
      merged === null
        ? { path: ".env.example", action: "unchanged" }
        : { ...write(".env.example", merged.text, "appended"), added: merged.added },
    );
  }

  const gitignore = readIfPresent(join(dir, ".gitignore"));
  const mergedIgnore = mergeGitignore(gitignore);
  if (mergedIgnore === null) entries.push({ path: ".gitignore", action: "unchanged" });
  else {
    const action = gitignore === null ? "created" : "appended";
    entries.push({ ...write(".gitignore", mergedIgnore.text, action), added: mergedIgnore.added });
  }

  if (!ledgerExists) {
    const ledger = await openLedger(config, { actor: "init", create: true });
    await ledger.close();
  }
  return {
    dir,
    entries,
    ledger: {
      path: config.ledgerUrl ? parseLedgerUrl(config.ledgerUrl).shown : shown(dir, config.ledgerDb),
      action: ledgerExists ? "kept" : "created",
    },
    config,
  };
}
