import { existsSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { ProducerConfig } from "../../config/types.js";
import { PACKAGE_ROOT } from "../../package-files.js";

/**
 * The files and folders no agent may write: the ledger and everything under agent-state (the
 * price override, the kill switch, escalations, reports), producer.yaml, the roles' prompts,
 * the project's `.env*`, its `node_modules/` and ai-producer's own installed files; and what
 * configures the next Claude Code session or runs code by itself (the project's `.claude/`,
 * `.mcp.json`, `CLAUDE.md`, `.git/`, the host's Claude config folder). Together they decide
 * what an agent is charged, what it is told and whether the brake holds.
 */
export interface ProtectedPaths {
  /** Absolute paths of single files. */
  files: string[];
  /** Absolute folders: the folder itself and everything below it. */
  dirs: string[];
  /** The project root, against which `.env*` and relative paths are read. */
  projectRoot: string;
}

/**
 * The protected set of one project. `extraDirs` adds folders only the caller knows of (the
 * host's Claude config folder, which depends on the environment).
 */
export function protectedPaths(config: ProducerConfig, extraDirs: string[] = []): ProtectedPaths {
  const root = config.projectRoot;
  const files = [
    config.configPath,
    config.ledgerDb,
    `${config.ledgerDb}-wal`,
    `${config.ledgerDb}-shm`,
    `${config.ledgerDb}-journal`,
    config.killSwitch,
    config.pricing.overrideFile,
    ...Object.values(config.agents).map((role) => role.prompt),
    join(PACKAGE_ROOT, "package.json"),
    // Claude Code reads these at the start of every session (inherit mode loads the project's
    // settings, whose hooks run shell commands): one agent must not configure the next.
    join(root, ".mcp.json"),
    join(root, "CLAUDE.md"),
    join(root, "CLAUDE.local.md"),
  ];
  const dirs = [
    config.agentStateDir,
    // Named on their own too: agent_state_dir may be the project root, which is no fence.
    join(config.agentStateDir, "claude-config"),
    config.escalationsDir,
    config.reportsDir,
    join(root, "node_modules"),
    join(root, ".claude"),
    // Git hooks and config (core.fsmonitor, aliases) run commands on a human's next git call.
    join(root, ".git"),
    ...extraDirs,
    join(PACKAGE_ROOT, "dist"),
    join(PACKAGE_ROOT, "bin"),
    join(PACKAGE_ROOT, "node_modules"),
  ].filter((dir) => !within(root, dir)); // a folder that holds the whole project is no fence
  return { files: unique(files), dirs: unique(dirs), projectRoot: root };
}

/**
 * Why `path` (absolute, or relative to `cwd`) is protected, or null when an agent may write
 * it. Symbolic links are followed as far as the path exists, so a link planted inside the
 * project cannot lead a write into a protected folder.
 */
export function protectedReason(
  paths: ProtectedPaths,
  path: string,
  cwd: string = paths.projectRoot,
): string | null {
  const spelled = expandHome(path.trim());
  const candidates = new Set([resolve(cwd, spelled), resolveLinks(resolve(cwd, spelled))]);
  for (const target of candidates) {
    for (const file of paths.files) {
      if (target === file || target === resolveLinks(file))
        return `${show(paths, file)} is protected`;
    }
    for (const dir of paths.dirs) {
      if (within(target, dir) || within(target, resolveLinks(dir))) {
        return `everything under ${show(paths, dir)}${sep} is protected`;
      }
    }
    if (dirname(target) === paths.projectRoot && /^\.env(\..*)?$/.test(basename(target))) {
      return `${basename(target)} holds the project's secrets and is protected`;
    }
  }
  return null;
}

/**
 * A protected path a shell command names, or null. This is a tripwire, not a boundary: a
 * command can build a path at run time. `node_modules` counts only as the target of a
 * redirection or `tee`, so installing packages still works.
 */
export function protectedPathInCommand(paths: ProtectedPaths, command: string): string | null {
  const names = new Set<string>();
  const nodeModules = join(paths.projectRoot, "node_modules");
  for (const path of [...paths.files, ...paths.dirs]) {
    if (path === nodeModules) continue;
    names.add(path);
    const rel = relative(paths.projectRoot, path);
    if (rel && !rel.startsWith("..") && !isAbsolute(rel)) names.add(rel);
  }
  for (const name of names) {
    if (mentions(command, name)) return isAbsolute(name) ? show(paths, name) : name;
  }
  if (/(^|[\s;&|(])\.env(\.[\w.-]*)?(?=$|[\s;&|)'"])/.test(command)) return ".env";
  if (/(>>?|\btee\b(\s+-\w+)*)\s*['"]?(\.\/)?node_modules\//.test(command)) return "node_modules";
  return null;
}

/**
 * The same fence as Claude Code permission rules, a second layer under the hook: `Edit`
 * rules cover every file-editing tool (a `Write(...)` rule is ignored for paths), and `//`
 * starts an absolute path. Claude Code resolves symbolic links when it matches them.
 */
export function editDenyRules(paths: ProtectedPaths): string[] {
  return [
    ...paths.files.map((file) => `Edit(/${file})`),
    ...paths.dirs.map((dir) => `Edit(/${dir}/**)`),
    `Edit(/${join(paths.projectRoot, ".env")})`,
    `Edit(/${join(paths.projectRoot, ".env.*")})`,
  ];
}

/** True when `name` appears in `command` as a whole path (not inside a longer name). */
function mentions(command: string, name: string): boolean {
  let at = command.indexOf(name);
  while (at !== -1) {
    const before = at === 0 ? " " : command[at - 1]!;
    const after = command[at + name.length] ?? " ";
    if (!/[\w.-]/.test(before) && !/[\w-]/.test(after)) return true;
    at = command.indexOf(name, at + 1);
  }
  return false;
}

/** `~` and `~/…` as the shell (and Claude Code) read them. */
function expandHome(path: string): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  return join(homedir(), path.slice(1));
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** The real path of the deepest existing ancestor, with the rest of the path appended. */
function resolveLinks(path: string): string {
  let existing = path;
  const rest: string[] = [];
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) return path;
    rest.unshift(basename(existing));
    existing = parent;
  }
  try {
    return join(realpathSync(existing), ...rest);
  } catch {
    return path;
  }
}

function show(paths: ProtectedPaths, path: string): string {
  const rel = relative(paths.projectRoot, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

function unique(list: string[]): string[] {
  return [...new Set(list.map((p) => resolve(p)))];
}
