/**
 * The config cache file: where it lives, and reading and writing it so that a torn or edited
 * entry is never taken for a good one. Whether an entry is still current is the key's business
 * (see key.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { DEFAULTS } from "../defaults.js";
import type { ProducerConfig } from "../types.js";
import type { CodeFiles } from "./key.js";

/** The cache's file name, inside the project's agent-state folder. */
export const CONFIG_CACHE_FILE = "config-cache.json";

/** One stored load. */
export interface CacheEntry {
  /** The key it was stored under. */
  key: string;
  /** The files of the code that loaded it, whose state is part of the key. */
  code: CodeFiles;
  config: ProducerConfig;
}

/**
 * The agent-state folder a config file has when it keeps the default layout. The cache can only
 * be looked for where it is known before the file is parsed; a project that moves project_root
 * or agent_state_dir simply loads the full way every time.
 */
export function defaultStateDir(configFile: string): string {
  return join(dirname(configFile), DEFAULTS.agentStateDir);
}

/**
 * Where the cache of `configFile` lives: in agent-state, next to the ledger, which agents may not
 * write (the cached config sets their caps and guardrails) and which .gitignore already skips.
 */
export function configCachePath(configFile: string): string {
  return join(defaultStateDir(configFile), CONFIG_CACHE_FILE);
}

function digestOf(configJson: string): string {
  return createHash("sha256").update(configJson).digest("hex");
}

/** The stored entry, or undefined when the file is missing, unreadable or damaged. */
export function readCacheEntry(cacheFile: string): CacheEntry | undefined {
  let stored: unknown;
  try {
    stored = JSON.parse(readFileSync(cacheFile, "utf8"));
  } catch {
    return undefined; // Missing, unreadable or not JSON: the full load decides.
  }
  if (!isObject(stored) || typeof stored.key !== "string" || !isObject(stored.config)) {
    return undefined;
  }
  const code = stored.code;
  if (!isObject(code) || !isPathList(code.packages) || !isPathList(code.modules)) {
    return undefined;
  }
  // JSON.stringify of parsed JSON gives back the text it was stored as, so an edit that still
  // parses (a changed digit) is caught here.
  if (digestOf(JSON.stringify(stored.config)) !== stored.digest) return undefined;
  return {
    key: stored.key,
    code: { packages: code.packages, modules: code.modules },
    config: stored.config as unknown as ProducerConfig,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPathList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((path) => typeof path === "string");
}

/**
 * Stores an entry atomically (a whole file renamed over the old one, so a reader never sees
 * half of it). Best effort: a cache that cannot be written (no agent-state folder yet, a
 * read-only disk) must not fail the command that loaded the config.
 *
 * @returns whether the entry was written.
 */
export function writeCacheEntry(cacheFile: string, entry: CacheEntry): boolean {
  const configJson = JSON.stringify(entry.config);
  // A value JSON cannot carry (undefined, Infinity) would come back different: not cached.
  if (!isDeepStrictEqual(JSON.parse(configJson), entry.config)) return false;
  const digest = digestOf(configJson);
  const text = `${JSON.stringify({ key: entry.key, code: entry.code, digest, config: entry.config })}\n`;
  const temp = `${cacheFile}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    // "wx": never write through a file or link that is already there.
    writeFileSync(temp, text, { flag: "wx" });
    renameSync(temp, cacheFile);
    return true;
  } catch {
    try {
      rmSync(temp, { force: true });
    } catch {
      // Nothing more to do: a stray temp file is harmless and never read.
    }
    return false;
  }
}
