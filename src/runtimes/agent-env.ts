import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { hasPassword } from "../config/ledger-url.js";
import { packagePath } from "../package-files.js";
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
const CLAUDE_VARIABLES = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "NODE_EXTRA_CA_CERTS",
  "API_TIMEOUT_MS",
];
const CLAUDE_PREFIXES = ["ANTHROPIC_", "CLAUDE_", "DISABLE_"];

/** Where the Producer's ledger is, when the environment says (see config/load.ts). */
const LEDGER_URL_VARIABLE = "PRODUCER_LEDGER_URL";

/** Variables never passed on by a prefix rule: they are credentials. */
const CREDENTIALS = new Set<string>([...CLAUDE_CREDENTIALS, AUDIT_KEY_VARIABLE]);

/**
 * The environment an agent starts with: the base allowlist, the names the role lists in its
 * `env` (and only those, secrets included if named), nothing else of the Producer's. With
 * `forClaude`, also what the Claude CLI needs to reach its API. PATH starts with the folder of
 * the `producer` command and PRODUCER_BIN names it, so agents call the same ai-producer that
 * runs them.
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
    out.PRODUCER_BIN = join(bin, "producer");
    const rest = (out.PATH ?? "").split(delimiter).filter((p) => p && p !== bin);
    // `producer` starts with `#!/usr/bin/env node`: a Producer started by an absolute node
    // path (a service unit) may have no node on PATH, so its own node comes last, never
    // shadowing one the agent's PATH already names.
    const node = dirname(process.execPath);
    if (!rest.includes(node)) rest.push(node);
    out.PATH = [bin, ...rest].join(delimiter);
  } else {
    // A PRODUCER_BIN the Producer inherited would name some other install.
    delete out.PRODUCER_BIN;
  }
  return out;
}

/**
 * This package's own bin folder: `producer` there is the very code that is running, whether
 * the Producer was started through npx, a node_modules/.bin symlink, a global install or
 * `node bin/producer.js`; and it puts no other command ahead of the agent's own.
 */
const OWN_BIN = packagePath("bin");

/**
 * The folder holding the `producer` command agents should run: this package's own, else the
 * project's `node_modules/.bin` (a bundled copy without its bin folder). Null when neither
 * has one.
 */
export function producerBinDir(projectRoot: string): string | null {
  if (existsSync(join(OWN_BIN, "producer"))) return OWN_BIN;
  const local = join(projectRoot, "node_modules", ".bin");
  return existsSync(join(local, "producer")) ? local : null;
}
