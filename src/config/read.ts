/**
 * Reading producer.yaml's text. Apart from the parser so that the cached load reads the file
 * exactly as the full load does (same errors) without loading yaml or zod.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.js";

/**
 * The text of the config file at the absolute path `file`. Read synchronously: it is small, and
 * an asynchronous read would start libuv's thread pool (four threads) in a command that has no
 * other use for it.
 *
 * @throws ConfigError naming the file and why it could not be read.
 */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(file, [{ path: "", message: readFailure(error) }], { cause: error });
  }
}

/** Words a failed read for someone who just typed a command. */
function readFailure(error: unknown): string {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  if (code === "ENOENT") {
    return "not found: run `producer init` to create one, or pass --config";
  }
  if (code === "EISDIR") return "is a folder, not a file: pass the path of producer.yaml inside it";
  if (code === "EACCES" || code === "EPERM") return "cannot be read: permission denied";
  return `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
}
