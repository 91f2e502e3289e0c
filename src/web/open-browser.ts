import { spawn } from "node:child_process";

/**
 * Asks the desktop to open `url` in the default browser, without waiting for it. Resolves
 * false when no opener could be started (a server with no desktop): the URL is printed anyway.
 */
export function openBrowser(
  url: string,
  platform: NodeJS.Platform = process.platform,
): Promise<boolean> {
  const [command, args] =
    platform === "darwin"
      ? ["open", [url]]
      : platform === "win32"
        ? // `start` is a cmd builtin; its first quoted argument is a window title.
          ["cmd", ["/c", "start", '""', url]]
        : ["xdg-open", [url]];
  return new Promise((resolve) => {
    try {
      const child = spawn(command, args, { detached: true, stdio: "ignore" });
      child.once("error", () => resolve(false));
      child.once("spawn", () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}
