import { posix } from "node:path";
import { LedgerError, oneLineMessage } from "../errors.js";
import type { Payload } from "./types.js";

/** Longest title accepted; detail belongs in the description. */
export const MAX_TITLE_CHARS = 500;
/** Longest description, payload or decision text accepted (characters). */
export const MAX_TEXT_CHARS = 256 * 1024;

// Control characters other than tab and newline; a title also refuses tab and newline.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_IN_LINE = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * How many characters a person counts in `text`: code points, so an emoji is one (`length`
 * counts UTF-16 units, two for it).
 */
export function charCount(text: string): number {
  return text.length - (text.match(/[\ud800-\udbff][\udc00-\udfff]/g)?.length ?? 0);
}

/** A one-line, non-empty, bounded label such as a task title. */
export function requireLine(field: string, value: unknown, max = MAX_TITLE_CHARS): string {
  if (typeof value !== "string") throw new LedgerError(`${field} must be text`);
  const trimmed = value.trim();
  if (trimmed === "") throw new LedgerError(`${field} must not be empty`);
  const length = trimmed.length > max ? charCount(trimmed) : trimmed.length;
  if (length > max) {
    throw new LedgerError(
      `${field} is ${length} characters long; the limit is ${max}${field === "title" ? " (put the detail in the description)" : ""}`,
    );
  }
  if (CONTROL_IN_LINE.test(trimmed)) {
    throw new LedgerError(`${field} must be a single line without control characters`);
  }
  return trimmed;
}

/** Free text (may be empty, may span lines) of bounded size. */
export function requireText(field: string, value: unknown, max = MAX_TEXT_CHARS): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new LedgerError(`${field} must be text`);
  if (value.length > max) {
    throw new LedgerError(`${field} is ${value.length} characters long; the limit is ${max}`);
  }
  if (CONTROL_IN_TEXT.test(value)) {
    throw new LedgerError(
      `${field} contains control characters (only tab and newline are allowed)`,
    );
  }
  return value;
}

/** A payload: a JSON object (or the text of one). Returns its canonical text. */
export function requirePayload(value: unknown): string {
  if (value === undefined || value === null) return "{}";
  let parsed: unknown = value;
  if (typeof value === "string") {
    if (value.trim() === "") return "{}";
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new LedgerError(`payload is not valid JSON (${oneLineMessage(error)})`);
    }
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    const kind = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed;
    throw new LedgerError(`payload must be a JSON object like {"key": "value"}, got ${kind}`);
  }
  const text = JSON.stringify(parsed as Payload);
  if (text.length > MAX_TEXT_CHARS) {
    throw new LedgerError(
      `payload is ${text.length} characters of JSON; the limit is ${MAX_TEXT_CHARS}`,
    );
  }
  return text;
}

/** Priority: an integer from 1 (highest) to 9 (lowest). */
export function requirePriority(value: unknown): number {
  if (value === undefined || value === null) return 5;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 9) {
    throw new LedgerError(
      `priority must be a whole number from 1 (highest) to 9 (lowest), got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

// An ISO-8601 date, or date and time with an optional offset: 2026-05-06, 2026-05-06T09:30,
// 2026-05-06T09:30:00.123Z, 2026-05-06T09:30:00+02:00. Date.parse alone takes far more
// ("1" is 2001, "May 6" depends on the time zone, "2026-02-30" rolls over to March).
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** The epoch milliseconds of an ISO-8601 instant (see above), or null when it is not one. */
export function isoInstantMs(text: string): number | null {
  const match = ISO_INSTANT.exec(text.trim());
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((n) => Number(n ?? 0));
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day);
  if (date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day) return null;
  if (hour! > 23 || minute! > 59 || second! > 59) return null;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? null : ms;
}

/** An ISO-8601 instant; returns it normalised to UTC with milliseconds. */
export function requireInstant(field: string, value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  const ms = typeof value === "string" ? isoInstantMs(value) : null;
  if (ms === null) {
    throw new LedgerError(
      `${field} must be an ISO-8601 timestamp like 2026-05-06T09:30:00Z, got ${JSON.stringify(value)}`,
    );
  }
  return new Date(ms).toISOString();
}

/**
 * A role name, checked against the known roles when there are any. `suggest` proposes the
 * closest known name for typos.
 */
export function requireRole(
  field: string,
  value: unknown,
  known: readonly string[] | null,
  suggest: (input: string, candidates: readonly string[]) => string | undefined,
): string {
  const roles = known ? `; the roles are: ${known.join(", ")}` : "";
  if (typeof value !== "string") throw new LedgerError(`${field} must name a role${roles}`);
  const role = value.trim();
  if (role === "") throw new LedgerError(`${field} must not be empty${roles}`);
  // Before the known-role check: an invisible character would make "unknown role" baffling.
  if (CONTROL_IN_LINE.test(role) || role.length > 64) {
    throw new LedgerError(
      `${field} ${JSON.stringify(role.length > 64 ? `${role.slice(0, 61)}...` : role)} is not a valid role name${roles}`,
    );
  }
  if (known && !known.includes(role)) {
    const hint = suggest(role, known);
    throw new LedgerError(
      `unknown role "${role}"${hint ? ` (did you mean "${hint}"?)` : ""}${roles}`,
    );
  }
  return role;
}

/**
 * An asset path: relative to the project root and staying inside it. Returns it normalised
 * with forward slashes.
 */
export function requireAssetPath(value: unknown): string {
  const text = requireLine("asset path", value, 1024);
  // Backslashes become slashes first, so `a\..\..\etc` is judged as the path it can be.
  const slashed = text.replaceAll("\\", "/");
  const normal = posix.normalize(slashed);
  if (posix.isAbsolute(slashed) || /^[a-zA-Z]:/.test(text)) {
    throw new LedgerError(`asset path "${text}" must be relative to the project root`);
  }
  if (normal === ".." || normal.startsWith("../")) {
    throw new LedgerError(`asset path "${text}" points outside the project`);
  }
  return normal;
}
