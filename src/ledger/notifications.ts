import type { LedgerCore } from "./core.js";

/** A notification as the ledger keeps it. */
export interface NotificationRecord {
  id: string;
  createdAt: string;
  kind: string;
  title: string;
  message: string;
  priority: number;
  tags: string[];
  needsHuman: boolean;
  sequenceId: string | null;
  /** `not_sent` (no topic), `sent`, or `failed` (see `deliveryError`). */
  delivery: string;
  deliveryError: string | null;
  deliveredAt: string | null;
}

/** What `recordNotification` needs. */
export type NewNotification = Pick<
  NotificationRecord,
  "kind" | "title" | "message" | "priority" | "tags" | "needsHuman" | "sequenceId"
>;

interface Row {
  id: string;
  created_at: string;
  kind: string;
  title: string;
  message: string;
  priority: number;
  tags: string;
  needs_human: number;
  sequence_id: string | null;
  delivery: string;
  delivery_error: string | null;
  delivered_at: string | null;
}

function toRecord(r: Row): NotificationRecord {
  return {
    id: r.id,
    createdAt: r.created_at,
    kind: r.kind,
    title: r.title,
    message: r.message,
    priority: r.priority,
    tags: JSON.parse(r.tags) as string[],
    needsHuman: r.needs_human === 1,
    sequenceId: r.sequence_id,
    delivery: r.delivery,
    deliveryError: r.delivery_error,
    deliveredAt: r.delivered_at,
  };
}

export function recordNotificationSync(core: LedgerCore, n: NewNotification): NotificationRecord {
  const row: Row = {
    id: core.newId(),
    created_at: core.now(),
    kind: n.kind,
    title: n.title,
    message: n.message,
    priority: n.priority,
    tags: JSON.stringify(n.tags),
    needs_human: n.needsHuman ? 1 : 0,
    sequence_id: n.sequenceId,
    delivery: "not_sent",
    delivery_error: null,
    delivered_at: null,
  };
  core
    .prepare(
      `INSERT INTO notifications (id, created_at, kind, title, message, priority, tags, needs_human, sequence_id, delivery)
       VALUES (@id, @created_at, @kind, @title, @message, @priority, @tags, @needs_human, @sequence_id, @delivery)`,
    )
    .run(row);
  core.audit.appendSync({
    ts: row.created_at,
    actor: "producer",
    action: "notification.recorded",
    entityType: "notification",
    entityId: row.id,
    details: { kind: n.kind, title: n.title },
  });
  return toRecord(row);
}

export function setDeliverySync(
  core: LedgerCore,
  id: string,
  delivery: "sent" | "failed",
  error: string | null,
): void {
  core
    .prepare(
      "UPDATE notifications SET delivery = ?, delivery_error = ?, delivered_at = ? WHERE id = ?",
    )
    .run(delivery, error, delivery === "sent" ? core.now() : null, id);
}

export function listNotificationsSync(
  core: LedgerCore,
  filter: { limit?: number; since?: string; until?: string; delivery?: string },
): NotificationRecord[] {
  return (
    core
      .prepare(
        `SELECT * FROM notifications
          WHERE (@since IS NULL OR created_at >= @since) AND (@until IS NULL OR created_at < @until)
            AND (@delivery IS NULL OR delivery = @delivery)
          ORDER BY id DESC LIMIT @limit`,
      )
      .all({
        since: filter.since ?? null,
        until: filter.until ?? null,
        delivery: filter.delivery ?? null,
        limit: filter.limit ?? -1,
      }) as Row[]
  ).map(toRecord);
}
