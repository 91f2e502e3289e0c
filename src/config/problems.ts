/**
 * Turns zod issues into config problems, one per key, with "did you mean" hints for unknown
 * keys. Paths stay as segment lists here so the loader can order problems as they appear in
 * the file before formatting them.
 */
import type { z } from "zod";
import { suggest } from "../text/suggest.js";
import { KNOWN_KEYS } from "./schema.js";

/** A problem whose key path is still a list of segments. */
export interface FoundProblem {
  path: readonly PropertyKey[];
  message: string;
}

/** The keys allowed in the mapping at `path`, or undefined when it is not a known mapping. */
function knownKeysAt(path: readonly PropertyKey[]): readonly string[] | undefined {
  if (path.length === 0) return KNOWN_KEYS[""];
  if (path.length === 1 && typeof path[0] === "string") return KNOWN_KEYS[path[0]];
  if (path.length === 2 && path[0] === "agents") return KNOWN_KEYS["agents.*"];
  return undefined;
}

/** Where a top-level key that belongs deeper should go; catches mis-indented lines. */
function homeOf(key: string): string | undefined {
  for (const [section, keys] of Object.entries(KNOWN_KEYS)) {
    if (section === "" || !keys.includes(key)) continue;
    return section === "agents.*" ? "a role in agents:" : `${section}:`;
  }
  return undefined;
}

/** The message for one unknown key found in the mapping at `parent`. */
export function unknownKeyMessage(parent: readonly PropertyKey[], key: string): string {
  const known = knownKeysAt(parent) ?? [];
  const close = suggest(key, known);
  if (close) return `unknown key (did you mean "${close}"?)`;
  if (parent.length === 0) {
    const home = homeOf(key);
    return home ? `unknown key (it belongs under ${home})` : "unknown key";
  }
  return known.length > 0 ? `unknown key (allowed keys: ${known.join(", ")})` : "unknown key";
}

/** One problem per issue, and one per key for unknown keys. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[]): FoundProblem[] {
  const problems: FoundProblem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        problems.push({ path: [...issue.path, key], message: unknownKeyMessage(issue.path, key) });
      }
    } else {
      problems.push({ path: issue.path, message: issue.message });
    }
  }
  return problems;
}
