/**
 * Loading producer.yaml: read -> parse YAML -> schema -> cross-field rules -> normalise. Every
 * problem found on the way is collected and thrown as one ConfigError, in file order.
 */
import { resolve } from "node:path";
import { z } from "zod";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { parseLedgerUrl } from "./ledger-url.js";
import { formatPath, humanErrorMap, show } from "./messages.js";
import { normalise } from "./normalise.js";
import { type FoundProblem, issuesToProblems } from "./problems.js";
import { readConfigText } from "./read.js";
import { crossFieldProblems, isMapping } from "./rules.js";
import { AUTH_MODES, producerYamlSchema } from "./schema.js";
import type { AuthMode, ProducerConfig } from "./types.js";
import { parseYaml } from "./yaml.js";

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Environment to read overrides from (`PRODUCER_AUTH_MODE`); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads, validates and normalises a producer.yaml. Relative `path`s resolve against the
 * current directory.
 *
 * @throws ConfigError listing every problem, including a missing or unreadable file.
 */
export async function loadConfig(
  path: string,
  options: LoadConfigOptions = {},
): Promise<ProducerConfig> {
  const file = resolve(path);
  return parseConfig(readConfigText(file), file, options.env ?? process.env);
}

/**
 * Validates and normalises producer.yaml text already in memory; `filePath` says where it
 * came from (project_root resolves against its folder).
 *
 * @throws ConfigError listing every problem.
 */
export function parseConfig(
  text: string,
  filePath: string,
  env: NodeJS.ProcessEnv = process.env,
): ProducerConfig {
  const file = resolve(filePath);
  const parsed = parseYaml(text);
  if (!parsed.ok) throw new ConfigError(file, parsed.problems);
  if (parsed.data === null || parsed.data === undefined) {
    const message =
      "the file is empty: declare at least one role under agents: (or run `producer init`)";
    throw new ConfigError(file, [{ path: "", message }]);
  }
  if (!isMapping(parsed.data)) {
    const message = `the top level must be a mapping of keys to values, got ${show(parsed.data)}`;
    throw new ConfigError(file, [{ path: "", message }]);
  }

  const data = withoutEmptyValues(parsed.data);
  const result = producerYamlSchema.safeParse(data, { error: humanErrorMap });
  const found = result.success ? [] : issuesToProblems(result.error.issues);
  found.push(...crossFieldProblems(data));
  const problems = inFileOrder(found, parsed.offsetOf);
  const envMode = authModeFromEnv(env, problems);
  const envLedgerUrl = ledgerUrlFromEnv(env, problems);

  if (!result.success || problems.length > 0) throw new ConfigError(file, problems);
  return normalise(result.data, file, envMode ?? result.data.auth.mode, envLedgerUrl);
}

/**
 * An empty value (`key:` with nothing after it) means "use the default", as if the key were
 * absent; an empty role (`code:`) is a role with no settings yet.
 */
function withoutEmptyValues(data: Record<string, unknown>): Record<string, unknown> {
  const out = dropNullKeys(data);
  if (isMapping(data.agents)) {
    const roles = Object.entries(data.agents).map(([name, role]) => [name, dropNulls(role ?? {})]);
    out.agents = Object.fromEntries(roles);
  }
  return out;
}

function dropNullKeys(mapping: Record<string, unknown>): Record<string, unknown> {
  const entries = Object.entries(mapping).filter(([, value]) => value !== null);
  return Object.fromEntries(entries.map(([key, value]) => [key, dropNulls(value)]));
}

/** Nulls inside lists stay: `[Read, ~]` is a mistake worth reporting, not a default. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  return isMapping(value) ? dropNullKeys(value) : value;
}

/** Formats paths and sorts problems by where they sit in the file; drops exact repeats. */
function inFileOrder(
  found: readonly FoundProblem[],
  offsetOf: (path: readonly PropertyKey[]) => number,
): ConfigProblem[] {
  const seen = new Set<string>();
  return found
    .map((p, index) => ({
      path: formatPath(p.path),
      message: p.message,
      at: offsetOf(p.path),
      index,
    }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .filter((p) => {
      const key = `${p.path}\n${p.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map(({ path, message }) => ({ path, message }));
}

/** The `PRODUCER_LEDGER_URL` override, if set; a URL that does not parse is a problem. */
function ledgerUrlFromEnv(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): string | undefined {
  const value = env.PRODUCER_LEDGER_URL?.trim();
  if (!value) return undefined;
  try {
    parseLedgerUrl(value);
  } catch (error) {
    problems.push({ path: "", message: `PRODUCER_LEDGER_URL: ${(error as Error).message}` });
  }
  return value;
}

/** The `PRODUCER_AUTH_MODE` override, if set; a bad value is added to `problems`. */
function authModeFromEnv(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): AuthMode | undefined {
  const value = env.PRODUCER_AUTH_MODE?.trim();
  if (!value) return undefined;
  const result = z.enum(AUTH_MODES).safeParse(value, { error: humanErrorMap });
  if (result.success) return result.data;
  problems.push({ path: "PRODUCER_AUTH_MODE", message: result.error.issues[0]?.message ?? "" });
  return undefined;
}
