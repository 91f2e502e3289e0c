/**
 * Checks of `producer task` flag values. A value of the wrong form is a UsageError (exit 2)
 * caught here, before the ledger opens; whether a role, id or transition makes sense is left
 * to the ledger, whose refusals are operational (exit 1).
 */

import { oneLineMessage, UsageError } from "../../errors.js";
import { type Payload, TASK_STATUSES, type TaskStatus } from "../../ledger/types.js";
import { isoInstantMs } from "../../ledger/validate.js";
import { suggest } from "../../text/suggest.js";
import { decodeUtf8 } from "../../text/utf8.js";

/** `--priority`: a whole number from 1 to 9. */
export function parsePriority(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= 9)) {
    throw new UsageError(
      `--priority must be a whole number from 1 (highest) to 9 (lowest), got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** `--limit`: a positive whole number. */
export function parseLimit(value: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && Number.isSafeInteger(n))) {
    throw new UsageError(`--limit must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `--status a,b`: known statuses; `in-progress` is taken for `in_progress`. */
export function parseStatuses(value: string | undefined): TaskStatus[] | undefined {
  if (value === undefined) return undefined;
  const words = splitList(value);
  if (words.length === 0) {
    throw new UsageError(`--status needs one or more of: ${TASK_STATUSES.join(", ")}`);
  }
  return [
    ...new Set(
      words.map((word) => {
        const status = word.toLowerCase().replaceAll("-", "_");
        if ((TASK_STATUSES as readonly string[]).includes(status)) return status as TaskStatus;
        const hint = suggest(status, TASK_STATUSES);
        throw new UsageError(
          `unknown status "${word}"${hint ? ` (did you mean "${hint}"?)` : ""}; the statuses are: ${TASK_STATUSES.join(", ")}`,
        );
      }),
    ),
  ];
}

/** `--payload`: the text of a JSON object. */
export function parsePayload(value: string | undefined): Payload | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new UsageError(`--payload is not valid JSON (${oneLineMessage(error)})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    const kind = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed;
    throw new UsageError(`--payload must be a JSON object like {"key": "value"}, got ${kind}`);
  }
  return parsed as Payload;
}

/** `--not-before`: an ISO-8601 instant, returned as given (the ledger normalises it). */
export function parseInstant(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (isoInstantMs(value) === null) {
    throw new UsageError(
      `${flag} must be an ISO-8601 timestamp like 2026-05-06T09:30:00Z, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** `--depends-on a,b`: ids, blanks dropped. */
export function parseIdList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : [...new Set(splitList(value))];
}

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * Everything on `stream` as text. On a terminal it says what it waits for, since a command
 * that silently waits for Ctrl-D looks hung.
 */
export async function readStdin(
  what: string,
  stream: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  if (stream.isTTY) stderr.write(`reading ${what} from stdin; end with Ctrl-D\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return decodeUtf8(Buffer.concat(chunks), `${what} on stdin`);
}
