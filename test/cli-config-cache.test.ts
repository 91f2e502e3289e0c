// The CLI keeps the validated producer.yaml in agent-state/config-cache.json so that quick
// commands skip the YAML parser and the schema. These tests run the built binary as a user does
// and check that the cache is never the reason a command sees an old or a broken config.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ProjectStatus } from "../src/cli/commands/status.js";
import { LedgerClient } from "../src/index.js";
import { type CliResult, modulesLoaded, runCli, tempProject } from "./helpers/cli.js";

const ROLES = ["code", "qa"];

/** A project with producer.yaml (caps of $5) and an empty ledger. */
async function project(yamlExtra = ""): Promise<string> {
  const dir = tempProject(yamlExtra, ROLES);
  const ledger = await LedgerClient.open({ dbPath: join(dir, "agent-state", "ledger.db") });
  await ledger.close();
  return dir;
}

const cacheOf = (dir: string) => join(dir, "agent-state", "config-cache.json");
const yamlOf = (dir: string) => join(dir, "producer.yaml");

/** Each role's daily cap as `producer status --json` reports it. */
async function caps(dir: string): Promise<Record<string, number>> {
  const out = await runCli(["status", "--json"], { cwd: dir });
  expect(out).toMatchObject({ code: 0, stderr: "" });
  const status = JSON.parse(out.stdout) as ProjectStatus;
  return Object.fromEntries(status.budget.roles.map((r) => [r.role, r.capUsd]));
}

/** A whole second, so that utimes can give a file back exactly this mtime, to the nanosecond. */
const PINNED = new Date("2026-01-02T03:04:05Z");

/** Sets the file's mtime to PINNED; returns its size and mtime as stat reports them. */
function pinTime(file: string): { size: bigint; mtimeNs: bigint } {
  utimesSync(file, PINNED, PINNED);
  const { size, mtimeNs } = statSync(file, { bigint: true });
  return { size, mtimeNs };
}

/**
 * Rewrites producer.yaml with text of the same length and gives it back its mtime, as an edit
 * within the file system's timestamp granularity would leave it: stat cannot tell it changed.
 */
function editUnseenByStat(file: string, edit: (text: string) => string): void {
  const text = readFileSync(file, "utf8");
  const edited = edit(text);
  expect(edited).not.toBe(text);
  expect(edited.length).toBe(text.length);
  const before = pinTime(file);
  writeFileSync(file, edited);
  expect(pinTime(file)).toEqual(before);
}

/** producer.yaml's text with the code role's cap set to `cap` (one digit: same size). */
const codeCap = (cap: number) => (text: string) =>
  text.replace("  code:\n    daily_cap_usd: 5\n", `  code:\n    daily_cap_usd: ${cap}\n`);

describe("config cache: the next command sees every edit", () => {
  it("is written by a good load, inside agent-state", async () => {
    const dir = await project();
    expect(existsSync(cacheOf(dir))).toBe(false);
    expect(await caps(dir)).toEqual({ code: 5, qa: 5 });
    const entry = JSON.parse(readFileSync(cacheOf(dir), "utf8")) as {
      key: string;
      config: { configPath: string };
    };
    expect(entry.key).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.config.configPath).toBe(yamlOf(dir));
    // Written whole and renamed: no temp file stays behind.
    expect(readdirSync(join(dir, "agent-state")).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("sees a changed cap of the same size, with the same mtime, at once", async () => {
    const dir = await project();
    pinTime(yamlOf(dir));
    expect(await caps(dir)).toEqual({ code: 5, qa: 5 });
    editUnseenByStat(yamlOf(dir), codeCap(7));
    expect(await caps(dir)).toEqual({ code: 7, qa: 5 });
  });

  it("sees an added role at once: the next task add may file for it", async () => {
    const dir = await project();
    const before = await runCli(["task", "add", "--agent", "docs", "--title", "Write it"], {
      cwd: dir,
    });
    expect(before.code).toBe(1);
    expect(before.stderr).toContain("the roles are: code, qa");
    writeFileSync(
      yamlOf(dir),
      `${readFileSync(yamlOf(dir), "utf8")}  docs:\n    daily_cap_usd: 2\n`,
    );
    const after = await runCli(["task", "add", "--agent", "docs", "--title", "Write it"], {
      cwd: dir,
    });
    expect(after).toMatchObject({ code: 0, stderr: "" });
    expect(await caps(dir)).toEqual({ code: 5, qa: 5, docs: 2 });
  });

  it("is keyed on the file's path: the same text in another folder is its own project", async () => {
    const dir = await project();
    await caps(dir);
    const copy = join(dir, "copy");
    mkdirSync(join(copy, "agent-state"), { recursive: true });
    writeFileSync(yamlOf(copy), readFileSync(yamlOf(dir)));
    writeFileSync(cacheOf(copy), readFileSync(cacheOf(dir)));
    const ledger = await LedgerClient.open({ dbPath: join(copy, "agent-state", "ledger.db") });
    await ledger.close();
    const out = await runCli(["status", "--json"], { cwd: copy });
    expect(out).toMatchObject({ code: 0, stderr: "" });
    expect((JSON.parse(out.stdout) as ProjectStatus).configPath).toBe(yamlOf(copy));
  });
});

describe("config cache: a damaged cache is ignored and rewritten", () => {
  const damage: [string, (entry: string) => string][] = [
    ["not JSON", () => "{ not json"],
    ["empty", () => ""],
    ["torn in half", (entry) => entry.slice(0, entry.length / 2)],
    // Still JSON, still the right key: only the digest tells the config was changed.
    ["a cap edited in place", (entry) => entry.replace('"dailyCapUsd":5', '"dailyCapUsd":9')],
    ["the wrong shape", () => '{"key":"0","code":{"packages":[],"modules":[]},"config":[]}'],
    // Right shape, but the code it names is not there (a package moved, a module deleted).
    [
      "code that is gone",
      (entry) => entry.replace('"modules":["', `"modules":["${join(tmpdir(), "gone.js")}","`),
    ],
  ];
  for (const [what, spoil] of damage) {
    it(`${what}: the command loads the file, then stores a good entry`, async () => {
      const dir = await project();
      await caps(dir);
      const good = readFileSync(cacheOf(dir), "utf8");
      const spoilt = spoil(good);
      expect(spoilt).not.toBe(good);
      writeFileSync(cacheOf(dir), spoilt);
      expect(await caps(dir)).toEqual({ code: 5, qa: 5 });
      expect(readFileSync(cacheOf(dir), "utf8")).toBe(good);
    });
  }

  it("a cache that cannot be written does not fail the command", async () => {
    const dir = await project();
    // A folder where the file should be: every write of the cache fails.
    mkdirSync(cacheOf(dir));
    expect(await caps(dir)).toEqual({ code: 5, qa: 5 });
    const add = await runCli(["task", "add", "--agent", "qa", "--title", "Check"], { cwd: dir });
    expect(add).toMatchObject({ code: 0, stderr: "" });
    expect(readdirSync(join(dir, "agent-state")).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("is not written where the next start would not look: a moved agent_state_dir", async () => {
    const dir = tempProject("agent_state_dir: state\n", ROLES);
    const ledger = await LedgerClient.open({ dbPath: join(dir, "state", "ledger.db") });
    await ledger.close();
    expect(await caps(dir)).toEqual({ code: 5, qa: 5 });
    expect(await caps(dir)).toEqual({ code: 5, qa: 5 });
    expect(existsSync(join(dir, "state", "config-cache.json"))).toBe(false);
    expect(readdirSync(join(dir, "agent-state"))).toEqual([]);
  });

  it("creates no agent-state folder in a project that has none", async () => {
    const dir = tempProject("", ROLES);
    rmSync(join(dir, "agent-state"), { recursive: true });
    const out = await runCli(["status"], { cwd: dir });
    expect(out.code).toBe(1); // No ledger yet: `producer init` makes one.
    expect(readdirSync(dir)).toEqual(["producer.yaml"]);
  });
});

describe("config cache: problems are reported as without it", () => {
  /** The outcome of `producer status` on the project. */
  const status = (dir: string, env?: NodeJS.ProcessEnv): Promise<CliResult> =>
    runCli(["status"], { cwd: dir, ...(env ? { env } : {}) });

  it("an invalid producer.yaml: the same one-line error and exit code, warm cache or not", async () => {
    const cold = await project();
    const warm = await project();
    pinTime(yamlOf(warm));
    await caps(warm);
    const good = readFileSync(cacheOf(warm), "utf8");
    // Same size, same mtime: only the text says the file changed.
    for (const dir of [cold, warm]) editUnseenByStat(yamlOf(dir), codeCap(0));
    const [fromCold, fromWarm] = await Promise.all([status(cold), status(warm)]);
    const expected = (dir: string) =>
      `producer: ${yamlOf(dir)}: agents.code.daily_cap_usd: must be a positive number\n`;
    expect(fromCold).toEqual({ code: 1, stdout: "", stderr: expected(cold) });
    expect(fromWarm).toEqual({ code: 1, stdout: "", stderr: expected(warm) });
    // Every command says so, not only the first: a failed load is never cached.
    expect(await status(warm)).toEqual(fromWarm);
    expect(readFileSync(cacheOf(warm), "utf8")).toBe(good);
    expect(existsSync(cacheOf(cold))).toBe(false);
  });

  it("PRODUCER_AUTH_MODE is part of the key: a bad value is refused even with a warm cache", async () => {
    const dir = await project();
    await caps(dir);
    const out = await status(dir, { PRODUCER_AUTH_MODE: "subscripton" });
    expect(out).toEqual({
      code: 1,
      stdout: "",
      stderr: `producer: ${yamlOf(dir)}: PRODUCER_AUTH_MODE: must be one of auto, api, subscription or inherit, got "subscripton" (did you mean "subscription"?)\n`,
    });
    expect(await caps(dir)).toEqual({ code: 5, qa: 5 });
  });
});

describe("config cache: quick commands do not load the YAML parser or the schema", () => {
  /** The packages under node_modules that `producer ...args` loads. */
  async function packagesLoaded(dir: string, args: string[]): Promise<string[]> {
    const { out, urls } = await modulesLoaded(dir, args);
    expect(out.stderr).toBe("");
    const packages = urls
      .map((url) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
      .filter((name): name is string => name !== undefined);
    return [...new Set(packages)].sort();
  }

  it("task add, status and audit verify load neither yaml nor zod once the cache is warm", async () => {
    const dir = await project();
    const add = ["task", "add", "--agent", "code", "--title", "Build it"];
    // The check can fail: the first load, with no cache yet, does load both.
    expect(await packagesLoaded(dir, add)).toEqual(expect.arrayContaining(["yaml", "zod"]));
    for (const args of [add, ["status"], ["audit", "verify"]]) {
      const loaded = await packagesLoaded(dir, args);
      expect(loaded, args.join(" ")).toContain("better-sqlite3");
      expect(loaded, args.join(" ")).not.toContain("yaml");
      expect(loaded, args.join(" ")).not.toContain("zod");
      expect(loaded, args.join(" ")).not.toContain("@anthropic-ai/claude-agent-sdk");
      expect(loaded, args.join(" ")).not.toContain("hono");
      expect(loaded, args.join(" ")).not.toContain("@clack/prompts");
    }
  });
});
