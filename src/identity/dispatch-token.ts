import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * The variable that carries a dispatch's token to its agent. The token names the dispatch
 * (and so the role and the task) without being its claim token: holding it lets a process
 * write as that dispatch, never end or settle its claim.
 */
export const DISPATCH_TOKEN_VARIABLE = "PRODUCER_DISPATCH_TOKEN";

/** The dispatch token of a claim, derived from its claim token, which it does not reveal. */
export function dispatchTokenFor(claimToken: string): string {
  return createHash("sha256").update(`dispatch:${claimToken}`).digest("hex");
}

/** How a process's dispatch token was found. */
export interface FoundToken {
  token: string;
  /** `env`: its own environment; `ancestor`: the environment a parent process started with. */
  via: "env" | "ancestor";
  /** PRODUCER_CONFIG from the same environment: the project the dispatch belongs to. */
  config: string | null;
}

/**
 * The dispatch this process acts for, if any: the token in its own environment, else (on
 * Linux) the one its nearest ancestor started with. A process an agent starts with the
 * variable removed (`env -u …`) is still found through its parent, so it cannot pass itself
 * off as a human.
 */
export function findDispatchToken(
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
): FoundToken | null {
  const own = env[DISPATCH_TOKEN_VARIABLE]?.trim();
  if (own) return { token: own, via: "env", config: env.PRODUCER_CONFIG?.trim() || null };
  if (process.platform !== "linux") return null;
  let current = parentOf(pid);
  for (let depth = 0; current !== null && current > 1 && depth < 64; depth++) {
    const found = environOf(current);
    const token = found.get(DISPATCH_TOKEN_VARIABLE)?.trim();
    if (token) return { token, via: "ancestor", config: found.get("PRODUCER_CONFIG") ?? null };
    current = parentOf(current);
  }
  return null;
}

function parentOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^PPid:\s+(\d+)$/m.exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** The environment a process started with (empty when it is gone or not ours to read). */
function environOf(pid: number): Map<string, string> {
  const vars = new Map<string, string>();
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  } catch {
    // Gone, or not ours to read.
  }
  return vars;
}
