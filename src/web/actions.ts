import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { utcToday } from "../clock.js";
import { UsageError } from "../errors.js";
import type { KillMode, KillSwitchState } from "../killswitch/kill-switch.js";
import type { NewTask, Payload, Task } from "../ledger/types.js";
import { charCount, requirePriority } from "../ledger/validate.js";
import { rewriteAttentionFile } from "../notify/attention-file.js";
import { parseReportDay, writeMorningReport } from "../report/morning-report.js";
import { type DashboardDeps, UI_ACTOR } from "./deps.js";
import { checkTaskId } from "./detail.js";
import { badRequest, HttpError } from "./http-error.js";

/** A request body: a JSON object (anything else was refused before). */
export type Body = Record<string, unknown>;

/**
 * Parses a request body: empty means `{}`; anything else must be a JSON object in UTF-8, sent
 * as `application/json` (415 otherwise, 400 for bytes that are not UTF-8 or not a JSON object).
 */
export function parseBody(bytes: Uint8Array, contentType: string | undefined): Body {
  if (bytes.length === 0) return {};
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(
      415,
      `the request body must be JSON sent as Content-Type: application/json, not ${type ? JSON.stringify(type.slice(0, 60)) : "without a Content-Type"}`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw badRequest("the request body is not valid UTF-8");
  }
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`the request body is not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("the request body must be a JSON object");
  }
  return value as Body;
}

function text(body: Body, key: string, options: { required?: boolean; max: number }): string {
  const value = body[key];
  if (value === undefined || value === null || value === "") {
    if (options.required) throw badRequest(`${key} is required`);
    return "";
  }
  if (typeof value !== "string") throw badRequest(`${key} must be text`);
  const length = value.length > options.max ? charCount(value) : value.length;
  if (length > options.max) {
    throw badRequest(`${key} is ${length} characters long; the limit is ${options.max}`);
  }
  if (options.required && value.trim() === "") throw badRequest(`${key} is required`);
  return value;
}

// A reason ends up on one line of the audit log and the kill-switch file.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we fold.
const oneLine = (value: string) => value.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();

function role(deps: DashboardDeps, value: unknown, key = "role"): string {
  const roles = Object.keys(deps.config.agents);
  if (typeof value !== "string" || !roles.includes(value)) {
    throw badRequest(
      `${key} must be one of ${roles.join(", ")}${typeof value === "string" && value ? `, got "${value.slice(0, 40)}"` : ""}`,
    );
  }
  return value;
}

/** The payload field: a JSON object, or the text of one (empty text means `{}`). */
export function parsePayload(value: unknown): Payload {
  let parsed: unknown = value;
  if (value === undefined || value === null) return {};
  if (typeof value === "string") {
    if (value.trim() === "") return {};
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw badRequest(`payload is not valid JSON (${(error as Error).message})`);
    }
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    const kind = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed;
    throw badRequest(`payload must be a JSON object like {"key": "value"}, got ${kind}`);
  }
  return parsed as Payload;
}

/** Files a task the way `producer task add` does, attributed to `ui`. */
export async function fileTask(deps: DashboardDeps, body: Body): Promise<Task> {
  const task: NewTask = {
    agentOwner: role(deps, body.role),
    title: text(body, "title", { required: true, max: 500 }),
    description: text(body, "description", { max: 256 * 1024 }),
    payload: parsePayload(body.payload),
    // The form sends "" for "not chosen". The ledger's check refuses true and [3], which
    // Number() would have taken for 1 and 3.
    priority: requirePriority(body.priority === "" ? undefined : body.priority),
    createdBy: UI_ACTOR,
  };
  // The ledger's own refusals (title on one line, sizes...) carry their code: the app's error
  // handler answers `invalid` with 400, a full disk or a locked ledger with 503.
  return deps.ledger.insertTask(task, { actor: UI_ACTOR });
}

/** A human's change to one task: the ones the CLI offers. */
export type TaskChange = "requeue" | "kill" | "reroute" | "approve" | "deny";

/** Every {@link TaskChange}, as the route's last segment. */
export const TASK_CHANGES: readonly TaskChange[] = [
  "requeue",
  "kill",
  "reroute",
  "approve",
  "deny",
];

/**
 * Requeues, kills or reroutes a task through the ledger, audited as `ui`. An unknown id is a
 * 404 and a change the task's status does not allow is a 409, both with the ledger's words.
 */
export async function changeTask(
  deps: DashboardDeps,
  id: string,
  change: TaskChange,
  body: Body,
): Promise<Task> {
  checkTaskId(id);
  // A kill and a denial must say why: they are read later by whoever filed the task.
  const needsReason = change === "kill" || change === "deny";
  const reason = oneLine(text(body, "reason", { required: needsReason, max: 2000 }));
  // Nothing but control characters is no reason either.
  if (needsReason && reason === "") throw badRequest("reason is required");
  const options = { actor: UI_ACTOR, reason: reason || undefined };
  // A refusal carries its code: unknown id 404, a status that does not allow it 409 (the
  // app's error handler maps them).
  if (change === "requeue") return deps.ledger.requeue(id, options);
  if (change === "kill") return deps.ledger.kill(id, options);
  if (change === "approve") return deps.ledger.approve(id, options);
  if (change === "deny") return deps.ledger.deny(id, { actor: UI_ACTOR, reason });
  return deps.ledger.reroute(id, role(deps, body.role), options);
}

/** Pulls the brake as `ui` (audited); `now: true` also aborts calls in flight. */
export async function armKillSwitch(deps: DashboardDeps, body: Body): Promise<KillSwitchState> {
  const reason = oneLine(text(body, "reason", { required: true, max: 2000 }));
  if (reason === "") throw badRequest("reason is required");
  const mode: KillMode = body.now === true ? "now" : "finish";
  return deps.killSwitch.arm(reason, UI_ACTOR, mode);
}

/** Releases the brake as `ui`; resolves to what it said, or null when it was not armed. */
export function disarmKillSwitch(deps: DashboardDeps): Promise<KillSwitchState | null> {
  return deps.killSwitch.disarm(UI_ACTOR);
}

/** A written morning report, with its markdown for the page to render. */
export interface GeneratedReport {
  day: string;
  /** Relative to the project root when inside it. */
  path: string;
  markdown: string;
}

/** Writes the morning report of `day` (default today, UTC), as `producer report` does. */
export async function generateReport(deps: DashboardDeps, body: Body): Promise<GeneratedReport> {
  let day: string | undefined;
  try {
    const given = text(body, "day", { max: 10 });
    day = given === "" ? undefined : parseReportDay(given);
  } catch (error) {
    if (error instanceof UsageError) throw badRequest(error.message.replace("--date", "day"));
    throw error;
  }
  const file = await writeMorningReport(deps.config, deps.ledger, { day, clock: deps.clock });
  const inside = relative(deps.config.projectRoot, file);
  return {
    day: day ?? utcToday(deps.clock),
    path: inside.startsWith("..") ? file : inside,
    markdown: readFileSync(file, "utf8"),
  };
}

/**
 * "Mark as read": resolves the attention items the page showed, by id (`ids`), audited as
 * `ui`; an item that arrived after the page drew its list stays open, and one resolved
 * meanwhile (a back-online notice, the CLI) is skipped. needs-attention.md is rewritten.
 */
export async function resolveShownAttention(
  deps: DashboardDeps,
  body: Body,
): Promise<{ resolved: string[] }> {
  const ids = body.ids;
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > 100 ||
    !ids.every((id) => typeof id === "string" && id.length <= 40)
  ) {
    throw badRequest("ids must be a list of 1 to 100 attention ids, as /api/state lists them");
  }
  // An unknown id answers 404 with the ledger's words (the app maps its code).
  const resolved = await deps.ledger.resolveAttention(
    { ids },
    { actor: UI_ACTOR, note: "marked as read on the dashboard", alreadyResolved: "skip" },
  );
  await rewriteAttentionFile(deps.config, deps.ledger);
  return { resolved: resolved.map((item) => item.id) };
}
