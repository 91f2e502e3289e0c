/**
 * The hand-over at the end of `producer init`: Claude Code started in the new project with
 * the onboarding brief, on the same terminal, and init waits until the user leaves it.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * The absolute path of `command` on env's PATH, or null. Done here rather than by the shell,
 * so "not installed" is known before anything is started and can be said kindly.
 */
export function findOnPath(command: string, env: NodeJS.ProcessEnv): string | null {
  const dirs = (env.PATH ?? env.Path ?? "").split(delimiter).filter(Boolean);
  const extensions =
    process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of dirs) {
    for (const ext of extensions) {
      const candidate = join(dir, command + ext);
      try {
        if (!statSync(candidate).isFile()) continue;
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not here, or not executable: keep looking, as a shell would.
      }
    }
  }
  return null;
}

/** How the Claude session ended. */
export type HandOverResult =
  | { started: true; code: number | null }
  | { started: false; error: Error };

/**
 * Runs `claude <request>` in `dir` with the terminal handed over, and resolves when it exits.
 * Ctrl-C reaches Claude Code (it shares the terminal's process group) and is Claude Code's to
 * handle, so this process ignores SIGINT meanwhile instead of dying under it; a SIGTERM sent to
 * this process alone is passed on.
 */
export function handOver(
  claudePath: string,
  dir: string,
  request: string,
  env: NodeJS.ProcessEnv,
): Promise<HandOverResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(claudePath, [request], { cwd: dir, env, stdio: "inherit" });
    const ignore = () => {};
    const forward = () => child.kill("SIGTERM");
    process.on("SIGINT", ignore);
    process.on("SIGTERM", forward);
    const done = (result: HandOverResult) => {
      process.off("SIGINT", ignore);
      process.off("SIGTERM", forward);
      resolvePromise(result);
    };
    child.once("error", (error) => done({ started: false, error }));
    child.once("exit", (code) => done({ started: true, code }));
  });
}
