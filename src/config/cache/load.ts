/**
 * The CLI's config load: the full load (YAML parser, schema, rules) runs only when producer.yaml
 * or anything else its result depends on changed since the last good load; otherwise the
 * validated config comes from the cache in agent-state. yaml and zod are two thirds of the
 * files a quick command would otherwise load at every start.
 */
import { resolve } from "node:path";
import { hasPassword } from "../ledger-url.js";
import { readConfigText } from "../read.js";
import type { ProducerConfig } from "../types.js";
import { type CodeFiles, codeFingerprint, configCacheKey, currentCodeFiles } from "./key.js";
import { configCachePath, defaultStateDir, readCacheEntry, writeCacheEntry } from "./store.js";

/** Options of {@link loadConfigCached}. */
export interface LoadConfigCachedOptions {
  /** Environment to read overrides from (`PRODUCER_AUTH_MODE`). */
  env: NodeJS.ProcessEnv;
}

/**
 * The same config as `loadConfig`, from the cache when its key still matches. A file that fails
 * to load is never cached: it is loaded, and its problems reported, every time.
 *
 * @throws ConfigError listing every problem, exactly as `loadConfig` does.
 */
export async function loadConfigCached(
  path: string,
  options: LoadConfigCachedOptions,
): Promise<ProducerConfig> {
  const file = resolve(path);
  const text = readConfigText(file);
  const { env } = options;
  const cacheFile = configCachePath(file);

  const entry = readCacheEntry(cacheFile);
  const code = entry && codeFingerprint(entry.code);
  if (entry && code !== undefined && entry.key === configCacheKey({ file, text, env, code })) {
    return entry.config;
  }

  const { parseConfig } = await import("../load.js");
  const config = parseConfig(text, file, env);
  // Stored only where the next start will look for it (see defaultStateDir).
  // A password given in PRODUCER_LEDGER_URL stays in the environment, never on disk.
  const secret = config.ledgerUrl !== null && hasPassword(config.ledgerUrl);
  if (config.agentStateDir === defaultStateDir(file) && !secret) {
    store(cacheFile, { file, text, env }, config);
  }
  return config;
}

/** Caches a good load; best effort, like writeCacheEntry. */
function store(
  cacheFile: string,
  inputs: { file: string; text: string; env: NodeJS.ProcessEnv },
  config: ProducerConfig,
): void {
  let files: CodeFiles;
  try {
    files = currentCodeFiles();
  } catch {
    return; // Packages laid out where require cannot see them: no cache, the load stands.
  }
  const code = codeFingerprint(files);
  if (code === undefined) return;
  writeCacheEntry(cacheFile, { key: configCacheKey({ ...inputs, code }), code: files, config });
}
