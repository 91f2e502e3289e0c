// bin/producer.js runs the CLI bundle (dist/cli-bundle, built by scripts/bundle-cli.mjs), not
// tsc's one-file-per-module output: these check that it does, and that the config cache still
// counts the code that loaded a config when that code is a few chunks.
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { modulesLoaded, runCli, tempProject } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

const REPO = resolve(import.meta.dirname, "..");
const BUNDLE = join(REPO, "dist", "cli-bundle");

async function project(): Promise<string> {
  const dir = tempProject("", ["code"]);
  const ledger = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
  await ledger.close();
  return dir;
}

/** Paths of ai-producer's own files (none in node_modules) that `producer ...args` loads. */
async function ownFilesLoaded(dir: string, args: string[]): Promise<string[]> {
  const { out, urls } = await modulesLoaded(dir, args);
  expect(out.stderr).toBe("");
  return urls
    .filter((url) => url.startsWith("file://") && !url.includes("/node_modules/"))
    .map((url) => new URL(url).pathname);
}

interface Entry {
  key: string;
  code: { packages: string[]; modules: string[] };
}
const cacheEntry = (dir: string) =>
  JSON.parse(readFileSync(join(dir, "agent-state", "config-cache.json"), "utf8")) as Entry;

describe("the CLI runs from its bundle", () => {
  it("task add loads chunks of dist/cli-bundle, and no module of tsc's output", async () => {
    const dir = await project();
    const loaded = await ownFilesLoaded(dir, ["task", "add", "--agent", "code", "--title", "x"]);
    const chunks = loaded.filter((path) => path.startsWith(`${BUNDLE}/`));
    expect(chunks.length).toBeGreaterThan(0);
    expect(loaded.filter((path) => path.includes("/dist/") && !chunks.includes(path))).toEqual([]);
  });

  it("the config cache counts every chunk of the bundle as the code that loaded it", async () => {
    const dir = await project();
    expect((await runCli(["status"], { cwd: dir })).code).toBe(0);
    const { code } = cacheEntry(dir);
    const chunks = readdirSync(BUNDLE)
      .filter((name) => name.endsWith(".js"))
      .map((name) => join(BUNDLE, name))
      .sort();
    expect(code.modules).toEqual(chunks);
    expect(code.packages[0]).toBe(join(REPO, "package.json"));
  });

  it("a rebuilt chunk invalidates a warm config cache", async () => {
    // A copy of the installed package whose bundle the test may touch.
    const copy = tempDir("producer-bundle-copy-");
    cpSync(join(REPO, "bin"), join(copy, "bin"), { recursive: true });
    mkdirSync(join(copy, "dist"));
    cpSync(BUNDLE, join(copy, "dist", "cli-bundle"), { recursive: true });
    cpSync(join(REPO, "package.json"), join(copy, "package.json"));
    symlinkSync(join(REPO, "node_modules"), join(copy, "node_modules"));
    const bin = join(copy, "bin", "producer.js");

    const dir = await project();
    expect((await runCli(["status"], { cwd: dir, bin })).code).toBe(0);
    const warm = cacheEntry(dir);
    expect(
      warm.code.modules.every((path) => path.startsWith(join(copy, "dist", "cli-bundle"))),
    ).toBe(true);
    expect((await runCli(["status"], { cwd: dir, bin })).code).toBe(0);
    expect(cacheEntry(dir).key).toBe(warm.key);

    const chunk = warm.code.modules.at(-1)!;
    utimesSync(chunk, new Date("2030-01-01T00:00:00Z"), new Date("2030-01-01T00:00:00Z"));
    expect((await runCli(["status"], { cwd: dir, bin })).code).toBe(0);
    expect(cacheEntry(dir).key).not.toBe(warm.key);
  });
});
