import type { AuditProblem } from "./index.js";

/**
 * Rows per chunk: enough that a statement and a message per chunk cost little next to the
 * rows, few enough that both threads stay busy from the first chunk to the last.
 */
export const CHUNK_ROWS = 4096;

/** Chunks read ahead of the oldest one still being hashed. */
const READ_AHEAD = 3;

/**
 * The two statements of a walk in chunks along a key: the first chunk starts at the lowest
 * key, whatever it is (a forged row may sit below 1, where a bound would skip it); each next
 * one after the last key of the one before (`after`, a condition on the only parameter).
 */
export function chunkStatements(
  build: (where: string) => string,
  after: string,
): { first: string; next: string } {
  return { first: build(""), next: build(`WHERE ${after}`) };
}

/**
 * Reads chunks on this thread while the hashers check the ones read before: `read` gives the
 * next chunk (its verdict under way) or null after the last; `settle` takes each chunk in order
 * once its verdict can be awaited, and stops the walk by returning a problem.
 */
export async function inOrder<C>(
  read: () => Promise<C | null>,
  settle: (chunk: C) => Promise<AuditProblem | null>,
): Promise<AuditProblem | null> {
  const ahead: C[] = [];
  let more = true;
  while (more || ahead.length > 0) {
    if (more && ahead.length < READ_AHEAD) {
      const chunk = await read();
      if (chunk === null) more = false;
      else ahead.push(chunk);
      continue;
    }
    const problem = await settle(ahead.shift()!);
    if (problem !== null) return problem;
  }
  return null;
}
