// A better-sqlite3 whose compiled part does not load (a Node.js upgrade, a failed native build)
// is a setup problem the user can fix in one command: the CLI must say which one, not crash.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp.js";

const ROOT = join(import.meta.dirname, "..");

/**
 * An install of ai-producer whose better-sqlite3 has a broken `.node` file: the package and the
 * driver are copies, every other dependency a link to ours. Node must then keep the links'
 * paths (--preserve-symlinks), or it would find our working driver through them.
 */
function installWithBrokenDriver(): string {
  const modules = join(tempDir("broken-driver-"), "node_modules");
  mkdirSync(modules, { recursive: true });
  for (const name of readdirSync(join(ROOT, "node_modules"))) {
    if (name === "better-sqlite3" || name === ".bin") continue;
    symlinkSync(join(ROOT, "node_modules", name), join(modules, name));
  }
  const driver = join(modules, "better-sqlite3");
  for (const part of ["package.json", "lib"]) {
    cpSync(join(ROOT, "node_modules", "better-sqlite3", part), join(driver, part), {
      recursive: true,
    });
  }
  mkdirSync(join(driver, "build", "Release"), { recursive: true });
  writeFileSync(join(driver, "build", "Release", "better_sqlite3.node"), "not a shared object\n");
  const pkg = join(modules, "ai-producer");
  for (const part of ["package.json", "bin", "dist"]) {
    cpSync(join(ROOT, part), join(pkg, part), { recursive: true });
  }
  return join(pkg, "bin", "producer.js");
}

describe("a SQLite driver that cannot load", () => {
  it("is one line that names better-sqlite3 and the rebuild command, exit 1", async () => {
    const project = tempDir("broken-driver-project-");
    const init = await runCli(["init", "--non-interactive"], { cwd: project });
    expect(init.code, init.stderr).toBe(0);
    const broken = installWithBrokenDriver();
    const run = spawnSync(
      process.execPath,
      ["--preserve-symlinks", "--preserve-symlinks-main", broken, "status"],
      {
        cwd: project,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1", PRODUCER_CONFIG: "" },
      },
    );
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^producer: the SQLite driver better-sqlite3 cannot load/);
    expect(lines[0]).toContain("npm rebuild better-sqlite3");
    expect(lines[0]).toContain(process.versions.node);
  }, 60_000);
});
