import { existsSync } from "node:fs";
import { basename, delimiter, dirname, join } from "node:path";
import { hasPassword } from "../config/ledger-url.js";
import { AUDIT_KEY_VARIABLE, CLAUDE_CREDENTIALS } from "../secrets/redactor.js";

/** Variables every agent gets from the Producer's environment, when set. */
const BASE_VARIABLES = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TERM",
  "COLORTERM",
  "NO_COLOR",
];

/** Name prefixes every agent gets: the locale, and ai-producer's own PRODUCER_* variables. */
const BASE_PREFIXES = ["LC_", "PRODUCER_"];

/**
 * What the Claude CLI itself reads (its endpoint, proxies, its own settings), passed to the
 * `claude` process only. Credentials among them are added by the auth plan, not here.
 */
const CLAUDE_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "NODE_EXTRA_CA_CERTS"];
const CLAUDE_PREFIXES = ["ANTHROPIC_", "CLAUDE_", "DISABLE_"];

/** Where the Producer's ledger is, when the environment says (see config/load.ts). */
const LEDGER_URL_VARIABLE = "PRODUCER_LEDGER_URL";

/** Variables never passed on by a prefix rule: they are credentials. */
const CREDENTIALS = new Set<string>([...CLAUDE_CREDENTIALS, AUDIT_KEY_VARIABLE]);

/**
 * The environment an agent starts with: the base allowlist, the names the role lists in its
 * `env` (and only those, secrets included if named), nothing else of the Producer's. With
 * `forClaude`, also what the Claude CLI needs to reach its API. PATH starts with the folder of
 * the `producer` command, so agents call the same ai-producer that runs them.
 */
export function agentEnv(
  source: NodeJS.ProcessEnv,
  options: { roleEnv?: readonly string[]; forClaude?: boolean; projectRoot: string },
): Record<string, string> {
  const names = new Set(BASE_VARIABLES);
  const prefixes = [...BASE_PREFIXES];
  if (options.forClaude) {
    for (const name of CLAUDE_VARIABLES) names.add(name);
    prefixes.push(...CLAUDE_PREFIXES);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    // The Producer's own ledger login is not the agents': with its password, an agent could
    // rewrite budgets and claims directly. Agents reach the ledger as producer.yaml says.
    if (name === LEDGER_URL_VARIABLE && hasPassword(value)) continue;
    const listed = names.has(name);
    const byPrefix = prefixes.some((p) => name.startsWith(p)) && !CREDENTIALS.has(name);
    if (listed || byPrefix) out[name] = value;
  }
  for (const name of options.roleEnv ?? []) {
    const value = source[name];
    if (value !== undefined) out[name] = value;
  }
  // Node gives a child's stdio as sockets, and Debian's bash sources ~/.bashrc when its stdin
  // is a socket and it believes it is the top shell (SHLVL below 1): every bash agent would
  // then run the user's shell setup (half a second here, and whatever it exports, past this
  // allowlist). Saying it runs below a shell keeps it a plain non-interactive shell.
  if (!(Number(out.SHLVL) >= 1)) out.SHLVL = "1";
  const bin = producerBinDir(options.projectRoot);
  if (bin) {
    const rest = (out.PATH ?? "").split(delimiter).filter((p) => p && p !== bin);
    out.PATH = [bin, ...rest].join(delimiter);
  }
  return out;
}

/**
 * The folder holding the `producer` command: the one this process was started from, else the
 * project's `node_modules/.bin`. Null when neither has it (a library user's own script).
 */
export function producerBinDir(projectRoot: string): string | null {
  const script = process.argv[1];
  if (script && basename(script) === "producer") return dirname(script);
  const local = join(projectRoot, "node_modules", ".bin");
  return existsSync(join(local, "producer")) ? local : null;
}
