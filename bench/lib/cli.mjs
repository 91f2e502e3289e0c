// Running the built `producer` binary the way a user does.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { timed } from "./children.mjs";

export const PRODUCER_BIN = join(import.meta.dirname, "..", "..", "bin", "producer.js");

/** The environment a user's shell would give the CLI: no colour, no inherited project. */
export function cliEnv() {
  const env = { ...process.env, NO_COLOR: "1" };
  for (const key of Object.keys(env)) if (key.startsWith("PRODUCER_")) delete env[key];
  return env;
}

/** Runs `producer ...args` in `cwd`; resolves with wall ms, exit code and output. */
export function producer(args, cwd) {
  return timed(process.execPath, [PRODUCER_BIN, ...args], { cwd, env: cliEnv() });
}

/**
 * Whether a subcommand exists yet (others are writing some of them): `--help` of an unknown
 * command exits non-zero. Resolves to null when available, else the reason.
 */
export async function missingCommand(words, cwd) {
  const out = await producer([...words, "--help"], cwd);
  if (out.code === 0 && !/unknown command/i.test(out.stderr)) {
    return null;
  }
  return `not available yet (\`producer ${words.join(" ")}\`: ${out.stderr.trim().split("\n")[0] || `exit ${out.code}`})`;
}

/**
 * Every JavaScript file `producer ...args` loads, counted by where it comes from: the CLI
 * bundle (`cli-bundle`), the rest of the built library (`dist`) or a package under node_modules.
 */
export async function loadedModules(args, cwd, listFile) {
  const preload = pathToFileURL(join(import.meta.dirname, "modules", "preload.mjs")).href;
  writeFileSync(listFile, "");
  await timed(process.execPath, ["--import", preload, PRODUCER_BIN, ...args], {
    cwd,
    env: { ...cliEnv(), BENCH_MODULE_LIST: listFile },
  });
  const files = new Set(readFileSync(listFile, "utf8").split("\n").filter(Boolean));
  files.delete(pathToFileURL(join(import.meta.dirname, "modules", "preload.mjs")).href);
  const bySource = {};
  for (const url of files) {
    const path = fileURLToPath(url);
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    const key =
      pkg ??
      (path.includes("/dist/cli-bundle/")
        ? "cli-bundle"
        : path.includes("/dist/")
          ? "dist"
          : "other");
    bySource[key] = (bySource[key] ?? 0) + 1;
  }
  return {
    total: files.size,
    bySource: Object.fromEntries(Object.entries(bySource).sort((a, b) => b[1] - a[1])),
  };
}
