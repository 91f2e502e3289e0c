import { RARE_ACTION_TERM } from "./audit/chain.js";
import type { Scope } from "./scope.js";

/** A short list plus the full count it was cut from. */
export interface Listed<T> {
  count: number;
  items: T[];
}

/** One task line of a report. */
export interface ReportTask {
  id: string;
  role: string;
  title: string;
  costUsd: number;
  attempts: number;
  lastError: string | null;
  at: string;
}

/** One audit-derived line of a report. */
export interface ReportEvent {
  ts: string;
  actor: string;
  action: string;
  entityId: string | null;
  reason: string | null;
}

/** Everything a morning report shows from the ledger, for one window of time. */
export interface ReportData {
  shippedByRole: { role: string; count: number; costUsd: number }[];
  shipped: Listed<ReportTask>;
  escalated: Listed<ReportTask>;
  failed: Listed<ReportTask>;
  assets: Listed<{ path: string; role: string; taskId: string | null; kind: string; at: string }>;
  recovered: Listed<ReportEvent>;
  killSwitch: Listed<ReportEvent>;
  guardrailRefusals: Listed<ReportEvent>;
  deliveryFailures: Listed<{ title: string; error: string | null; at: string }>;
  /** Rows read for the lists (the totals are aggregates): stays small on any ledger size. */
  rowsFetched: number;
}

const TASK_LINE = `id, agent_owner AS role, title, cost_usd AS "costUsd", attempts, last_error AS "lastError"`;

/**
 * Gathers a report's facts for [since, until): every total by an aggregate query, every list
 * cut at `limit` rows, so a report on 100,000 tasks reads a few hundred rows.
 */
export async function reportData(
  scope: Scope,
  window: { since: string; until: string; limit: number },
): Promise<ReportData> {
  const { tx } = scope;
  const p = window;
  let rowsFetched = 0;
  const all = async <T>(sql: string, params: Record<string, unknown>): Promise<T[]> => {
    const rows = await tx.all<T>(sql, params);
    rowsFetched += rows.length;
    return rows;
  };
  const count = async (sql: string, params: Record<string, unknown>): Promise<number> =>
    Number((await tx.one<{ n: number }>(sql, params))?.n ?? 0);

  // The status term stays unindexed (`+status` on SQLite): a day's finished rows are few, all done
  // rows may be many, so the finished_at index is the one to walk.
  const finishedIn = "finished_at >= @since AND finished_at < @until";
  const status = tx.dialect.unindexed("status");
  // One walk of the day's finished rows gives the shipped totals by role and both counts: the
  // walk, not the rows it keeps, is what a report on a busy day pays for.
  const finishedByRole = await tx.all<{
    role: string;
    status: string;
    count: number;
    costUsd: number;
  }>(
    `SELECT agent_owner AS role, status, COUNT(*) AS count, SUM(cost_usd) AS "costUsd"
       FROM tasks WHERE ${status} IN ('done', 'failed') AND ${finishedIn}
      GROUP BY agent_owner, status ORDER BY agent_owner`,
    p,
  );
  const finishedCount = (wanted: string) =>
    finishedByRole.reduce((sum, r) => sum + (r.status === wanted ? Number(r.count) : 0), 0);
  const shippedByRole = finishedByRole
    .filter((r) => r.status === "done")
    .map((r) => ({ role: r.role, count: Number(r.count), costUsd: Number(r.costUsd) }));
  const taskList = async (
    where: string,
    at: string,
    known?: number,
  ): Promise<Listed<ReportTask>> => ({
    count: known ?? (await count(`SELECT COUNT(*) AS n FROM tasks WHERE ${where}`, p)),
    items: await all<ReportTask>(
      `SELECT ${TASK_LINE}, ${at} AS at FROM tasks WHERE ${where} ORDER BY ${at} DESC LIMIT @limit`,
      p,
    ),
  });
  const auditList = async (action: string, reasonKey: string): Promise<Listed<ReportEvent>> => ({
    count: await count(
      `SELECT COUNT(*) AS n FROM audit_log
        WHERE ${RARE_ACTION_TERM} AND action ${action} AND ts >= @since AND ts < @until`,
      p,
    ),
    items: await all<ReportEvent>(
      `SELECT ts, actor, action, entity_id AS "entityId", ${tx.dialect.jsonText("details", reasonKey)} AS reason
         FROM audit_log
        WHERE ${RARE_ACTION_TERM} AND action ${action} AND ts >= @since AND ts < @until
        ORDER BY seq DESC LIMIT @limit`,
      p,
    ),
  });
  const data: Omit<ReportData, "rowsFetched"> = {
    shippedByRole,
    shipped: await taskList(
      `${status} = 'done' AND ${finishedIn}`,
      "finished_at",
      finishedCount("done"),
    ),
    // Escalations wait for a human whenever they happened: all of them, not just today's.
    escalated: await taskList("status = 'escalated'", "updated_at"),
    failed: await taskList(
      `${status} = 'failed' AND ${finishedIn}`,
      "finished_at",
      finishedCount("failed"),
    ),
    assets: {
      count: await count(
        "SELECT COUNT(*) AS n FROM asset_registry WHERE created_at >= @since AND created_at < @until",
        p,
      ),
      items: await all(
        `SELECT path, agent_owner AS role, task_id AS "taskId", kind, created_at AS at FROM asset_registry
          WHERE created_at >= @since AND created_at < @until ORDER BY id DESC LIMIT @limit`,
        p,
      ),
    },
    recovered: await auditList("= 'task.recovered'", "reason"),
    killSwitch: await auditList("IN ('killswitch.armed', 'killswitch.disarmed')", "reason"),
    guardrailRefusals: await auditList("= 'guardrail.refused'", "reason"),
    deliveryFailures: {
      count: await count(
        "SELECT COUNT(*) AS n FROM notifications WHERE delivery = 'failed' AND created_at >= @since AND created_at < @until",
        p,
      ),
      items: await all(
        `SELECT title, delivery_error AS error, created_at AS at FROM notifications
          WHERE delivery = 'failed' AND created_at >= @since AND created_at < @until
          ORDER BY id DESC LIMIT @limit`,
        p,
      ),
    },
  };
  return { ...data, rowsFetched };
}
