/**
 * What a loaded config depends on, as one hash: a cached config is used only when every input
 * of the full load is the same as when it was stored.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { codePath, packagePath, RUNNING_BUNDLE } from "../../package-files.js";

/** Bumped when the stored entry's shape changes, so older entries are never read as new. */
const FORMAT = 2;

/** The packages the full load runs: a new version may parse or validate differently. */
const PARSER_PACKAGES = ["yaml", "zod"] as const;

/**
 * The code that turns producer.yaml into a config, as files: found after a full load (listing
 * and resolving them costs more than the rest of the key together), recorded in the cache entry,
 * and checked again at every start without searching.
 */
export interface CodeFiles {
  /** package.json of ai-producer, yaml and zod: their versions count. */
  packages: string[];
  /**
   * Every module under src/config (dist/config once built), this cache's own included; in the
   * CLI bundle, every chunk of it.
   */
  modules: string[];
}

/** What the key of one load is made of. */
export interface ConfigCacheInputs {
  /** Absolute path of producer.yaml: every path in the result resolves against its folder. */
  file: string;
  /** The file's text, as the full load would parse it. */
  text: string;
  /** The environment: `PRODUCER_AUTH_MODE` and `PRODUCER_LEDGER_URL` override the file. */
  env: NodeJS.ProcessEnv;
  /** {@link codeFingerprint} of the code that loads it. */
  code: string;
}

/**
 * The key of one load. Besides the file's path and whole text (hashed, not its mtime or size:
 * an edit that keeps the size within the file system's timestamp granularity must still count)
 * and the one variable the load reads, it covers the code that turns text into config, so an
 * upgrade or a rebuild never serves a config the new code would not produce.
 */
export function configCacheKey({ file, text, env, code }: ConfigCacheInputs): string {
  const inputs = [
    FORMAT,
    code,
    file,
    env.PRODUCER_AUTH_MODE ?? null,
    env.PRODUCER_LEDGER_URL ?? null,
    text,
  ];
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}

/** The files of the code that loads producer.yaml, as installed now. */
export function currentCodeFiles(): CodeFiles {
  const here = fileURLToPath(import.meta.url);
  // The bundle mixes the config code into chunks with the rest, so all of it counts there.
  const codeDir = RUNNING_BUNDLE ?? codePath("config");
  const require = createRequire(import.meta.url);
  const modules = readdirSync(codeDir, { recursive: true, encoding: "utf8" })
    .filter((name) => extname(name) === extname(here))
    .sort()
    .map((name) => join(codeDir, name));
  return {
    packages: [
      packagePath("package.json"),
      ...PARSER_PACKAGES.map((name) => require.resolve(`${name}/package.json`)),
    ],
    modules,
  };
}

/**
 * The packages' versions and the modules' sizes and mtimes: a version alone would miss a rebuild
 * in a checkout, and a published package's mtimes may not change between versions. A module
 * added since the files were listed matters only once a listed one imports it, which changes
 * that one. Undefined when a file is gone or unreadable.
 */
export function codeFingerprint(files: CodeFiles): string | undefined {
  try {
    const versions = files.packages.map((manifest) => {
      const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version?: unknown };
      return [manifest, String(version)];
    });
    const modules = files.modules.map((path) => {
      const { size, mtimeMs } = statSync(path);
      return [path, size, mtimeMs];
    });
    return JSON.stringify([versions, modules]);
  } catch {
    return undefined;
  }
}
