/**
 * Which producer.yaml a command uses, found the way git finds its repository: an explicit
 * path, then the environment, then the nearest one in the current folder or above.
 */
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "../errors.js";

/** The file name `producer init` writes and the upward search looks for. */
export const CONFIG_FILE_NAME = "producer.yaml";

/** Options of {@link findConfigPath}. */
export interface FindConfigOptions {
  /** Folder to start from; relative paths resolve against it. */
  cwd: string;
  /** Environment; `PRODUCER_CONFIG` names the file when no explicit path is given. */
  env: NodeJS.ProcessEnv;
  /** A path given on the command line (`--config`); wins over everything else. */
  explicit?: string | undefined;
}

function kindOf(path: string): "file" | "folder" | undefined {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) return undefined;
  return stats.isDirectory() ? "folder" : "file";
}

/**
 * The absolute path of the producer.yaml to load. An explicit or env path is returned even if
 * it does not exist yet, so the loader can say so precisely; a folder given there means the
 * producer.yaml inside it.
 *
 * @throws ConfigError when no path is given and no folder from `cwd` up holds producer.yaml.
 */
export function findConfigPath(options: FindConfigOptions): string {
  const cwd = resolve(options.cwd);
  const given = options.explicit || options.env.PRODUCER_CONFIG;
  if (given) {
    const path = resolve(cwd, given);
    return kindOf(path) === "folder" ? join(path, CONFIG_FILE_NAME) : path;
  }

  for (let dir = cwd; ; dir = dirname(dir)) {
    const candidate = join(dir, CONFIG_FILE_NAME);
    if (kindOf(candidate) === "file") return candidate;
    if (dirname(dir) === dir) break;
  }
  // No file to name: the message says where we looked.
  throw new ConfigError("", [
    {
      path: "",
      message: `no ${CONFIG_FILE_NAME} in ${cwd} or any parent folder: run \`producer init\`, or pass --config`,
    },
  ]);
}
