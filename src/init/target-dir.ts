/**
 * Where `producer init` writes: `--dir` checked and resolved before any question is asked, so
 * a path that cannot work fails at once with a reason instead of after the wizard.
 */
import { lstatSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { asError, ProducerError, UsageError } from "../errors.js";

type Kind = "folder" | "file" | "broken link" | "missing";

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0001-\u001f\u007f-\u009f]/;

function kindOf(path: string): Kind {
  try {
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats) return stats.isDirectory() ? "folder" : "file";
    return lstatSync(path, { throwIfNoEntry: false }) ? "broken link" : "missing";
  } catch (error) {
    // A file somewhere above: the walk up reaches it and names it.
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return "missing";
    throw new ProducerError(`--dir: cannot look at ${path}: ${asError(error).message}`, {
      cause: error,
    });
  }
}

/**
 * The absolute project folder for `--dir` (the current folder when absent). It may not exist
 * yet; init creates it. The nearest part of it that does exist must be a folder.
 *
 * @throws UsageError for a value that is not a usable path (empty, a NUL byte, a "~" that no
 *   shell expanded).
 * @throws ProducerError when the path, or a part of it, is a file or a broken link.
 */
export function resolveTargetDir(cwd: string, dir: string | undefined): string {
  if (dir === undefined) return resolve(cwd);
  if (dir.trim() === "") throw new UsageError("--dir needs a folder path");
  if (dir.includes("\0")) throw new UsageError("--dir contains a NUL byte");
  // A folder name with an invisible character is a paste accident, and would reach the
  // project name, notification titles and the terminal as it is.
  if (CONTROL.test(dir)) {
    throw new UsageError(`--dir contains control characters: ${JSON.stringify(dir)}`);
  }
  // `--dir=~/x` and quoted tildes reach us unexpanded; a folder literally named "~" is never meant.
  if (/^~(?:[\\/]|$)/.test(dir)) {
    throw new UsageError(
      `--dir ${dir}: "~" is only expanded by a shell, and it was not here; write the full path (e.g. $HOME${dir.slice(1)})`,
    );
  }
  const target = resolve(cwd, dir);
  for (let path = target; ; path = dirname(path)) {
    const kind = kindOf(path);
    if (kind === "folder") return target;
    if (kind === "file") {
      throw new ProducerError(
        path === target
          ? `--dir ${target} is a file, not a folder`
          : `--dir ${target} cannot be created: ${path} is a file, not a folder`,
      );
    }
    if (kind === "broken link") {
      throw new ProducerError(`--dir ${target} cannot be used: ${path} is a broken symbolic link`);
    }
    if (dirname(path) === path) return target;
  }
}
