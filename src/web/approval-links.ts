/**
 * Approval from the phone: an ntfy action button that opens a single-use, expiring link served
 * by `producer ui`.
 *
 * Why this design. ntfy's `http` action carrying the dashboard token was the alternative, and
 * it is refused: the token would sit on ntfy's server (ntfy.sh unless self-hosted) and in every
 * subscriber's app, and it unlocks every change the page can make (kill switch, kills,
 * reroutes) until `producer ui` restarts. A link instead authorises one thing, approving one
 * task, once, for a limited time:
 *
 * - Its token is 32 random bytes made by this process. The ledger keeps only its SHA-256 (an
 *   `approval.requested` audit row), so an agent that reads the ledger, or a backup of it,
 *   learns nothing it can use; nothing is kept in a file an agent could read, and no agent
 *   process ever sees the token (it is made here, in the human's `producer ui`).
 * - Single use across processes: using it approves the task through the ledger, which refuses
 *   any task no longer awaiting approval; a second use (here or in another `producer ui`) is
 *   refused with "already decided".
 * - It expires after {@link APPROVAL_LINK_TTL_MS}; a token that matches no hash is refused.
 * - Opening it (GET) only shows the task and a button; the approval is the POST of that
 *   button, so a link previewer fetching the URL approves nothing.
 *
 * The server listens on 127.0.0.1 only and checks the Host header, so the link opens from the
 * same machine, or from a phone through an SSH forward of the same port
 * (`ssh -L 5050:127.0.0.1:5050 host`); it is no use from a phone on the open internet, by
 * design: the dashboard has no login.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock.js";
import { type LedgerError, LedgerTransitionRefused } from "../errors.js";
import type { Ledger } from "../ledger/ledger.js";
import type { Task } from "../ledger/types.js";
import type { Notifier } from "../notify/notifier.js";
import { HttpError } from "./http-error.js";

/** How long an approval link works after it was sent. */
export const APPROVAL_LINK_TTL_MS = 24 * 3_600_000;

/** Who a link's approval is audited as. */
export const LINK_ACTOR = "ntfy-link";

const REQUESTED = "approval.requested";

/** The audit entity of a task's approval request: not the task's own id, see recentAudit. */
const requestEntity = (taskId: string) => `approval-request:${taskId}`;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The path a link's token is served under. */
export const approvalPath = (taskId: string, token: string) =>
  `/approve/${encodeURIComponent(taskId)}/${token}`;

/**
 * Sends one approval request per task awaiting approval that has none yet: records the token's
 * hash and expiry, then pushes a notice with an Approve button. Requests already recorded (by
 * this or another `producer ui`) are not sent again.
 */
export async function offerApprovals(
  ledger: Ledger,
  notifier: Notifier,
  baseUrl: string,
  clock: Clock,
): Promise<number> {
  const awaiting = await ledger.listTasks({ status: "awaiting_approval", limit: 50 });
  let sent = 0;
  for (const task of awaiting.reverse()) {
    if ((await ledger.recentAudit(1, requestEntity(task.id))).length > 0) continue;
    const token = randomBytes(32).toString("base64url");
    const expiresAt = new Date(clock.now() + APPROVAL_LINK_TTL_MS).toISOString();
    await ledger.appendAudit({
      action: REQUESTED,
      entityType: "approval",
      entityId: requestEntity(task.id),
      actor: "ui",
      details: { task_id: task.id, token_sha256: sha256(token), expires_at: expiresAt },
    });
    const url = new URL(approvalPath(task.id, token), baseUrl).toString();
    await notifier.notify(
      {
        kind: "approval",
        title: `Approval needed: ${task.title}`,
        // The link is not in the message: the message is recorded in the ledger.
        message: `${task.agentOwner} task ${task.id.slice(-8)} waits for your approval (filed by ${task.createdBy}). Approve opens a one-time link on this machine until ${expiresAt}; deny with: producer task deny ${task.id.slice(-8)} --reason "..."`,
        priority: 4,
        tags: ["raised_hand"],
      },
      { actions: `view, Approve, ${url}, clear=true` },
    );
    sent++;
  }
  return sent;
}

/** What a link names, once its token checks out. */
export interface CheckedLink {
  task: Task;
  expiresAt: string;
}

/**
 * The task a link approves, or an HttpError: 404 for a token that matches no request (wrong,
 * tampered or made up), 410 once expired, 409 when the task was already decided.
 */
export async function checkLink(
  ledger: Ledger,
  taskId: string,
  token: string,
  clock: Clock,
): Promise<CheckedLink> {
  const refused = new HttpError(404, "this approval link is not valid (mistyped or altered)");
  if (!/^[A-Za-z0-9_-]{43}$/.test(token) || !/^[0-9A-Z]{26}$/.test(taskId)) throw refused;
  const given = Buffer.from(sha256(token), "hex");
  const requests = await ledger.recentAudit(20, requestEntity(taskId));
  const match = requests
    .filter((r) => r.action === REQUESTED)
    .map((r) => JSON.parse(r.details) as { token_sha256: string; expires_at: string })
    .find((d) => timingSafeEqual(Buffer.from(d.token_sha256, "hex"), given));
  if (!match) throw refused;
  if (clock.now() >= Date.parse(match.expires_at)) {
    throw new HttpError(
      410,
      `this approval link expired at ${match.expires_at}: approve with producer task approve ${taskId.slice(-8)}`,
    );
  }
  const task = await ledger.getTask(taskId);
  if (!task) throw refused;
  if (task.status !== "awaiting_approval") {
    throw new HttpError(
      409,
      `already decided: task ${task.id.slice(-8)} is ${task.status.replace("_", " ")}`,
    );
  }
  return { task, expiresAt: match.expires_at };
}

/** Approves the task a valid link names, once (see {@link checkLink} for the refusals). */
export async function useLink(
  ledger: Ledger,
  taskId: string,
  token: string,
  clock: Clock,
): Promise<Task> {
  await checkLink(ledger, taskId, token, clock);
  try {
    return await ledger.approve(taskId, {
      actor: LINK_ACTOR,
      reason: `approved from the ntfy link (${sha256(token).slice(0, 12)})`,
    });
  } catch (error) {
    // Decided between the check and the approval, by another use or another human.
    if (error instanceof LedgerTransitionRefused) {
      throw new HttpError(409, `already decided: ${(error as LedgerError).message}`);
    }
    throw error;
  }
}
