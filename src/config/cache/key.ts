/**
 * What a loaded config depends on, as one hash: a cached config is used only when every input
 * of the full load is the same as when it was stored.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Bumped when the stored entry's shape changes, so older entries are never read as new. */
const FORMAT = 1;

/** The packages the full load runs: a new version may parse or validate differently. */
const PARSER_PACKAGES = ["yaml", "zod"] as const;

/** An installed package: the path of its package.json and the version it names. */
export interface PackageVersion {
  manifest: string;
  version: string;
}

/** What the key of one load is made of. */
export interface ConfigCacheInputs {
  /** Absolute path of producer.yaml: every path in the result resolves against its folder. */
  file: string;
  /** The file's text, as the full load would parse it. */
  text: string;
  /** The environment: `PRODUCER_AUTH_MODE` overrides `auth.mode`. */
  env: NodeJS.ProcessEnv;
  /** The parser's and the validator's installed versions (see {@link installedParsers}). */
  parsers: readonly PackageVersion[];
}

/**
 * The key of one load. Besides the file's path and whole text (hashed, not its mtime or size:
 * an edit that keeps the size within the file system's timestamp granularity must still count)
 * and the one variable the load reads, it covers the code that turns text into config, so an
 * upgrade or a rebuild never serves a config the new code would not produce.
 */
export function configCacheKey({ file, text, env, parsers }: ConfigCacheInputs): string {
  const inputs = [
    FORMAT,
    ownCodeFingerprint(),
    parsers.map((p) => [p.manifest, p.version]),
    file,
    env.PRODUCER_AUTH_MODE ?? null,
    text,
  ];
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}

/**
 * Where yaml and zod are installed, and their versions. Resolving a package costs more than the
 * rest of the key together, so this runs only after a full load (which loaded them anyway); the
 * cache entry records the paths, and a later start reads the versions there again
 * ({@link recordedParsers}).
 */
export function installedParsers(): PackageVersion[] {
  const require = createRequire(import.meta.url);
  return PARSER_PACKAGES.map((name) => {
    const manifest = require.resolve(`${name}/package.json`);
    return { manifest, version: versionAt(manifest) };
  });
}

/** The versions found now at the package.json paths an entry recorded; undefined if any is gone. */
export function recordedParsers(manifests: unknown): PackageVersion[] | undefined {
  if (!Array.isArray(manifests) || manifests.length !== PARSER_PACKAGES.length) return undefined;
  try {
    return manifests.map((manifest) => {
      if (typeof manifest !== "string") throw new TypeError("not a path");
      return { manifest, version: versionAt(manifest) };
    });
  } catch {
    return undefined;
  }
}

function versionAt(manifest: string): string {
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version?: unknown };
  return String(version);
}

let fingerprint: string | undefined;

/**
 * ai-producer's version and the size and mtime of every module under src/config (dist/config
 * once built), this cache's own included: a version alone would miss a rebuild in a checkout,
 * where the version stays put while the schema changes.
 */
function ownCodeFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  const here = fileURLToPath(import.meta.url);
  const configDir = dirname(dirname(here));
  const modules = readdirSync(configDir, { recursive: true, encoding: "utf8" })
    .filter((name) => extname(name) === extname(here))
    .sort()
    .map((name) => {
      const stats = statSync(join(configDir, name), { bigint: true });
      return `${name}:${stats.size}:${stats.mtimeNs}`;
    });
  const version = versionAt(join(configDir, "..", "..", "package.json"));
  fingerprint = JSON.stringify([version, modules]);
  return fingerprint;
}
