import { spawnSync } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { parseEnv } from "node:util";
import type { AuthMode } from "../../config/types.js";
import { asError, ProducerError } from "../../errors.js";
import { CLAUDE_CREDENTIALS } from "../../secrets/redactor.js";

/** The three ways out when no credentials are found, in one sentence. */
export const HOW_TO_AUTHENTICATE =
  "set ANTHROPIC_API_KEY (in the environment or in the project's .env), or log in with `claude` and use auth.mode: subscription, or use auth.mode: inherit to run with your own Claude Code setup";

/** How one Claude dispatch authenticates, and what that implies for its child process. */
export interface AuthPlan {
  mode: Exclude<AuthMode, "auto">;
  /** The complete environment of the `claude` child (the SDK replaces, not merges). */
  env: Record<string, string>;
  /** `[]` in the isolated modes (no user settings, CLAUDE.md, skills); undefined = all load. */
  settingSources: [] | undefined;
  permissionMode: "dontAsk" | "bypassPermissions";
  /** Whether the SDK's cost figure is a real bill (API key) or not reported (subscription). */
  reportsActualCost: boolean;
  /** The isolated config dir in use, or null when the host's is inherited. */
  configDir: string | null;
  /** Things the operator should know (e.g. auto fell back to inherit). */
  warnings: string[];
}

export interface AuthInputs {
  /** Configured mode (PRODUCER_AUTH_MODE already applied by the config loader). */
  mode: AuthMode;
  /** The environment the Producer runs in (credentials are looked up here). */
  env: NodeJS.ProcessEnv;
  /**
   * What the `claude` process may see of it (see `agentEnv`); the plan adds the credentials
   * its mode needs. Defaults to the whole of `env`.
   */
  passEnv?: Record<string, string>;
  projectRoot: string;
  agentStateDir: string;
  /** `auth.bypass_permissions`: skip Claude Code's permission checks (opt-in). */
  bypassPermissions?: boolean;
  /** Defaults to the current process's; tests pass false to check the non-root path. */
  isRoot?: boolean;
  /**
   * Whether Claude Code can scrub credentials from the shells its Bash tool starts (it needs
   * bubblewrap). Defaults to whether `bwrap` is on the PATH.
   */
  canScrub?: boolean;
}

/**
 * Decides how a dispatch authenticates. `auto` picks an API key, else a stored subscription
 * login, else the host's own Claude Code setup (with a warning). Every mode runs under
 * `dontAsk` (allowed tools pre-approved, anything else refused without a prompt) unless
 * `bypassPermissions` is set. Throws one clear error naming the fixes when the chosen mode
 * has no credentials.
 */
export function planAuth(inputs: AuthInputs): AuthPlan {
  const scrub = inputs.canScrub ?? hasBubblewrap(inputs.env);
  const plan = credentialPlan(inputs, scrub);
  const credential = CLAUDE_CREDENTIALS.find((name) => plan.env[name]);
  if (credential && !scrub) {
    plan.warnings.push(
      `bubblewrap is not installed or cannot run here, so Claude Code cannot hide ${credential} from the shells its Bash tool starts: an agent with Bash can read it. Install bubblewrap (e.g. apt-get install bubblewrap) where it can create namespaces to scrub it`,
    );
  }
  if (!inputs.bypassPermissions) return plan;
  // The CLI refuses to bypass permissions as root unless told it runs in a sandbox.
  const env =
    (inputs.isRoot ?? process.getuid?.() === 0) ? { ...plan.env, IS_SANDBOX: "1" } : plan.env;
  return { ...plan, env, permissionMode: "bypassPermissions" };
}

function credentialPlan(inputs: AuthInputs, scrub: boolean): AuthPlan {
  const key = apiKey(inputs.env, inputs.projectRoot);
  const credentials = hostCredentialsFile(inputs.env);
  let mode: AuthPlan["mode"];
  const warnings: string[] = [];
  if (inputs.mode === "auto") {
    if (key) mode = "api";
    else if (existsSync(credentials)) mode = "subscription";
    else {
      mode = "inherit";
      warnings.push(
        `auth.mode auto: no ANTHROPIC_API_KEY and no ${credentials}; running agents with your own Claude Code setup (inherit mode: your login, plugins and settings load; agents still get only their allowed tools)`,
      );
    }
  } else {
    mode = inputs.mode;
  }
  const passed: Record<string, string> = { ...(inputs.passEnv ?? defined(inputs.env)) };
  // Claude Code then unsets credential-like variables in the shells its Bash tool starts
  // (it refuses to start with this set and no bubblewrap).
  if (scrub) passed.CLAUDE_CODE_SUBPROCESS_ENV_SCRUB = "1";
  const base = withoutKeys(passed, ["CLAUDE_CONFIG_DIR"]);
  switch (mode) {
    case "api": {
      if (!key) {
        throw new ProducerError(`auth.mode api needs an Anthropic API key: ${HOW_TO_AUTHENTICATE}`);
      }
      const configDir = isolatedConfigDir(inputs.agentStateDir, "api");
      return {
        mode,
        env: {
          ...base,
          ANTHROPIC_API_KEY: key,
          CLAUDE_CONFIG_DIR: configDir,
          GIT_TERMINAL_PROMPT: "0",
        },
        settingSources: [],
        permissionMode: "dontAsk",
        reportsActualCost: true,
        configDir,
        warnings,
      };
    }
    case "subscription": {
      if (!existsSync(credentials)) {
        throw new ProducerError(
          `auth.mode subscription needs a stored Claude login at ${credentials}: ${HOW_TO_AUTHENTICATE}`,
        );
      }
      const configDir = isolatedConfigDir(inputs.agentStateDir, "subscription");
      linkCredentials(credentials, join(configDir, ".credentials.json"));
      return {
        mode,
        env: {
          ...withoutKeys(base, ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"]),
          CLAUDE_CONFIG_DIR: configDir,
          GIT_TERMINAL_PROMPT: "0",
        },
        settingSources: [],
        permissionMode: "dontAsk",
        reportsActualCost: false,
        configDir,
        warnings,
      };
    }
    case "inherit": {
      return {
        mode,
        env: { ...passed, ...hostCredentials(inputs.env), GIT_TERMINAL_PROMPT: "0" },
        settingSources: undefined,
        // The host's settings and login load, but its permission rules do not widen what an
        // agent may do: tools outside the role's list are neither offered nor approved.
        permissionMode: "dontAsk",
        reportsActualCost: Boolean(inputs.env.ANTHROPIC_API_KEY),
        configDir: null,
        warnings,
      };
    }
  }
}

/** ANTHROPIC_API_KEY from the environment, else from the project's .env file. */
export function apiKey(env: NodeJS.ProcessEnv, projectRoot: string): string | null {
  const fromEnv = env.ANTHROPIC_API_KEY?.trim();
  if (fromEnv) return fromEnv;
  const file = join(projectRoot, ".env");
  if (!existsSync(file)) return null;
  try {
    return parseEnv(readFileSync(file, "utf8")).ANTHROPIC_API_KEY?.trim() || null;
  } catch (error) {
    throw new ProducerError(`cannot read ${file}: ${asError(error).message}`, { cause: error });
  }
}

/** Where the host's Claude Code keeps its stored login. */
export function hostCredentialsFile(env: NodeJS.ProcessEnv): string {
  const dir = env.CLAUDE_CONFIG_DIR?.trim() || join(env.HOME?.trim() || homedir(), ".claude");
  return join(dir, ".credentials.json");
}

function isolatedConfigDir(agentStateDir: string, mode: string): string {
  const dir = join(agentStateDir, "claude-config", mode);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The isolated dir gets exactly one thing from the host: a link to the credentials file. */
function linkCredentials(target: string, link: string): void {
  try {
    if (lstatSync(link, { throwIfNoEntry: false })) unlinkSync(link);
    symlinkSync(target, link);
  } catch (error) {
    throw new ProducerError(`cannot link ${target} into ${link}: ${asError(error).message}`, {
      cause: error,
    });
  }
}

/** Whether each `bwrap` found so far can make a sandbox here (tried once per path). */
const bubblewrapWorks = new Map<string, boolean>();

/**
 * Whether a working `bwrap` is on the PATH of `env`. Installed is not enough: where user
 * namespaces are not allowed (some containers, AppArmor defaults) it exists but cannot run,
 * and a Claude Code told to scrub with it would refuse to start at all.
 */
export function hasBubblewrap(env: NodeJS.ProcessEnv): boolean {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const bwrap = join(dir, "bwrap");
    try {
      accessSync(bwrap, constants.X_OK);
    } catch {
      continue; // Not in this folder.
    }
    let works = bubblewrapWorks.get(bwrap);
    if (works === undefined) {
      const probe = spawnSync(
        bwrap,
        ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "true"],
        { stdio: "ignore", timeout: 5000 },
      );
      works = probe.status === 0;
      bubblewrapWorks.set(bwrap, works);
    }
    return works;
  }
  return false;
}

/** The credential variables the host's own Claude Code setup may rely on (inherit mode). */
function hostCredentials(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CLAUDE_CREDENTIALS) {
    const value = env[name];
    if (value) out[name] = value;
  }
  return out;
}

function defined(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function withoutKeys(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  const out = defined(env);
  for (const key of keys) delete out[key];
  return out;
}
