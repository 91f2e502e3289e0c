import { appendAudit } from "./audit/chain.js";
import { newIdOf, nowOf, type Scope } from "./scope.js";

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
    priority: Number(r.priority),
    tags: JSON.parse(r.tags) as string[],
    needsHuman: Number(r.needs_human) === 1,
    sequenceId: r.sequence_id,
    delivery: r.delivery,
    deliveryError: r.delivery_error,
    deliveredAt: r.delivered_at,
  };
}

export async function recordNotification(
  scope: Scope,
  n: NewNotification,
): Promise<NotificationRecord> {
  const row: Row = {
    id: newIdOf(scope),
    created_at: nowOf(scope),
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
  await scope.tx.run(
    `INSERT INTO notifications (id, created_at, kind, title, message, priority, tags, needs_human, sequence_id, delivery)
     VALUES (@id, @created_at, @kind, @title, @message, @priority, @tags, @needs_human, @sequence_id, @delivery)`,
    row,
  );
  await appendAudit(scope, {
    ts: row.created_at,
    actor: "producer",
    action: "notification.recorded",
    entityType: "notification",
    entityId: row.id,
    details: { kind: n.kind, title: n.title },
  });
  return toRecord(row);
}

export async function setDelivery(
  scope: Scope,
  id: string,
  delivery: "sent" | "failed",
  error: string | null,
): Promise<void> {
  await scope.tx.run(
    "UPDATE notifications SET delivery = ?, delivery_error = ?, delivered_at = ? WHERE id = ?",
    [delivery, error, delivery === "sent" ? nowOf(scope) : null, id],
  );
}

export async function listNotifications(
  scope: Scope,
  filter: { limit?: number; since?: string; until?: string; delivery?: string },
): Promise<NotificationRecord[]> {
  const rows = await scope.tx.all<Row>(
    `SELECT * FROM notifications
      WHERE (CAST(@since AS TEXT) IS NULL OR created_at >= @since) AND (CAST(@until AS TEXT) IS NULL OR created_at < @until)
        AND (CAST(@delivery AS TEXT) IS NULL OR delivery = @delivery)
      ORDER BY id DESC ${scope.tx.dialect.limit("limit")}`,
    {
      since: filter.since ?? null,
      until: filter.until ?? null,
      delivery: filter.delivery ?? null,
      limit: filter.limit ?? -1,
    },
  );
  return rows.map(toRecord);
}
