import { readFileSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where ai-producer's own files are (templates, the demo agent, the dashboard's files, its bin
 * folder). Its code runs from three layouts: the TypeScript sources under test, tsc's output in
 * `dist/`, and the CLI bundle in `dist/cli-bundle/`, whose chunks all sit in one folder
 * whatever module they came from. So paths are found from the package root, never counted up
 * from the module that needs them.
 */

/** The folder the CLI bundle is built into, under `dist/` (see scripts/bundle-cli.mjs). */
export const BUNDLE_FOLDER = "cli-bundle";

const HERE = dirname(fileURLToPath(import.meta.url));

interface Manifest {
  name?: unknown;
  version?: unknown;
}

function readManifest(dir: string): Manifest | null {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
  } catch {
    return null;
  }
}

/**
 * The nearest folder above this module whose package.json names ai-producer. Code copied
 * into someone else's bundle has none: then the folder above the code's own, as tsc lays it
 * out, so that a missing file is reported by whoever reads it, not here at import.
 */
function findRoot(): { root: string; version: string } {
  for (let dir = HERE; ; dir = dirname(dir)) {
    const manifest = readManifest(dir);
    if (manifest?.name === "ai-producer") return { root: dir, version: String(manifest.version) };
    if (dirname(dir) === dir) return { root: dirname(HERE), version: "unknown" };
  }
}

const found = findRoot();

/** The installed package's root folder: package.json, bin/, dist/, templates/, demo/. */
export const PACKAGE_ROOT = found.root;

/** The version in the installed package.json. */
export const PACKAGE_VERSION = found.version;

/** The folder of the modules that are running: `src` under test, else `dist`. */
export const CODE_ROOT = join(PACKAGE_ROOT, relative(PACKAGE_ROOT, HERE).split(sep)[0] ?? "");

/** The CLI bundle's folder when this code runs from it, else null. */
export const RUNNING_BUNDLE = basename(HERE) === BUNDLE_FOLDER ? HERE : null;

/** A path inside the package, from its root. */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}

/** A path inside the running code's folder (`src` or `dist`), for files copied beside it. */
export function codePath(...parts: string[]): string {
  return join(CODE_ROOT, ...parts);
}
