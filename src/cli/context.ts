import { loadConfigCached } from "../config/cache/load.js";
import { findConfigPath } from "../config/find.js";
import type { ProducerConfig } from "../config/types.js";
import { UsageError } from "../errors.js";
import { findDispatchToken } from "../identity/dispatch-token.js";
import type { Ledger } from "../ledger/ledger.js";
import { openLedger } from "../ledger/open.js";

/** What every project command starts from: where it runs and which environment it sees. */
export interface CommandEnv {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `--config` given on the command line. */
  configPath?: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Sets the exit code without throwing (e.g. `audit verify` found a problem). */
  setExitCode: (code: number) => void;
}

/**
 * Finds and loads the project's producer.yaml (from --config, PRODUCER_CONFIG or a parent),
 * through the config cache: a quick command pays for the YAML parser and the schema only when
 * the file changed since the last good load.
 */
export async function loadProject(ctx: CommandEnv): Promise<ProducerConfig> {
  const path = findConfigPath({ cwd: ctx.cwd, env: ctx.env, explicit: ctx.configPath });
  return loadConfigCached(path, { env: ctx.env });
}

/** Who a CLI write is attributed to: the dispatched agent's role inside a dispatch, else `cli`. */
export function cliActor(env: NodeJS.ProcessEnv): string {
  return env.PRODUCER_ROLE?.trim() || "cli";
}

/**
 * Refuses a command that only a human may run when it is run from inside a dispatched agent:
 * its environment says so, or (on Linux) a process it descends from carries a dispatch token.
 * A process that left its dispatch's ancestry and environment both is not caught.
 */
export function refuseInsideDispatch(env: NodeJS.ProcessEnv, command: string, why: string): void {
  if (env.PRODUCER_TASK_ID?.trim() || findDispatchToken(env)) {
    throw new UsageError(`${command} cannot run inside a dispatched agent: ${why}`);
  }
}

/**
 * Opens the project's existing ledger (a missing file is an error, never silently created),
 * with the roles and guardrails of its config, acting as `actor` (default: see cliActor).
 */
export async function openProjectLedger(
  config: ProducerConfig,
  env: NodeJS.ProcessEnv,
  actor: string = cliActor(env),
) {
  return openLedger(config, { actor, create: false });
}

/** Runs `work` with the project ledger open, closing it whatever happens. */
export async function withProjectLedger<T>(
  ctx: CommandEnv,
  work: (ledger: Ledger, config: ProducerConfig) => Promise<T>,
): Promise<T> {
  const config = await loadProject(ctx);
  const ledger = await openProjectLedger(config, ctx.env);
  try {
    return await work(ledger, config);
  } finally {
    await ledger.close();
  }
}
