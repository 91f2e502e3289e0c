// Builds the CLI that bin/producer.js runs: tsc's dist/cli/main.js and everything it imports,
// as a few dozen chunks in dist/cli-bundle/. A command starts by resolving, reading and
// compiling every file it loads; one file per module (~90 for `producer task add`) made that
// most of its start-up. Commands still load on demand: each is its own chunk, and so are the
// modules only some commands use. The library (dist/index.js) stays tsc's output.
//
// Packages stay outside the bundle (better-sqlite3 is native; most load only in some
// commands), except the small pure-JavaScript ones every command loads.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
// tsc has just built it: the code finds out it runs from the bundle by this folder's name.
import { BUNDLE_FOLDER } from "../dist/package-files.js";

const root = join(import.meta.dirname, "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const BUNDLED_PACKAGES = new Set(["commander", "ulid"]);
const external = Object.keys(manifest.dependencies)
  .filter((name) => !BUNDLED_PACKAGES.has(name))
  .flatMap((name) => [name, `${name}/*`]);

const outdir = join(root, "dist", BUNDLE_FOLDER);
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: [join(root, "dist", "cli", "main.js")],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  // Smaller files parse sooner; names stay, so stack traces (PRODUCER_DEBUG) still read.
  minifyWhitespace: true,
  minifySyntax: true,
  // commander is CommonJS: its require() of Node's modules needs a real require in ESM.
  banner: {
    js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);',
  },
  logLevel: "warning",
});
