// What the figures were measured on: CPU, memory, disk, Node, SQLite and package versions.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, "..", "..");

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8"))
      .version;
  } catch {
    return null;
  }
}

function git(args) {
  try {
    return execFileSync("git", args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

/** The filesystem holding `dir`, from /proc/mounts (Linux only; null elsewhere). */
function filesystemOf(dir) {
  try {
    const mounts = readFileSync("/proc/mounts", "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" "))
      .filter(([, point]) => dir === point || dir.startsWith(point === "/" ? "/" : `${point}/`))
      .sort((a, b) => b[1].length - a[1].length);
    const [device, point, type, opts] = mounts[0] ?? [];
    return device ? { device, mountPoint: point, type, options: opts } : null;
  } catch {
    return null;
  }
}

/** A description of this machine and software, for results.json. */
export function machineInfo() {
  const Database = require("better-sqlite3");
  const db = new Database(":memory:");
  const sqlite = db.prepare("select sqlite_version() AS v").get().v;
  db.close();
  const cpus = os.cpus();
  const tmp = os.tmpdir();
  return {
    date: new Date().toISOString(),
    cpus: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverageAtStart: os.loadavg(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    tmpdir: tmp,
    tmpFilesystem: filesystemOf(tmp),
    node: process.version,
    v8: process.versions.v8,
    sqlite,
    packages: {
      "ai-producer": JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version,
      "better-sqlite3": packageVersion("better-sqlite3"),
      plainjob: packageVersion("plainjob"),
    },
    git: {
      commit: git(["rev-parse", "HEAD"]),
      dirty: (git(["status", "--porcelain", "--", "src"]) ?? "") !== "",
    },
  };
}
