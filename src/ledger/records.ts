import { LedgerError } from "../errors.js";
import { suggest } from "../text/suggest.js";
import { appendAudit } from "./audit/chain.js";
import { toAsset, toDecision } from "./rows.js";
import { type Actor, newIdOf, nowOf, requireTask, type Scope } from "./scope.js";
import type { Asset, Decision, NewAsset, NewDecision } from "./types.js";
import { requireAssetPath, requireLine, requireRole, requireText } from "./validate.js";

/** Records a decision (append-only, audited). */
export async function recordDecision(
  scope: Scope,
  input: NewDecision,
  actor: Actor,
): Promise<Decision> {
  const taskId = input.taskId ? (await requireTask(scope, input.taskId)).id : null;
  const row = {
    id: newIdOf(scope),
    task_id: taskId,
    agent_owner: requireRole("agent owner", input.agentOwner, scope.roles, suggest),
    kind: input.kind === undefined ? "note" : requireLine("kind", input.kind, 100),
    decision_text: requireText("decision text", input.decisionText),
    rationale: requireText("rationale", input.rationale),
    created_at: nowOf(scope),
  };
  if (row.decision_text.trim() === "") throw new LedgerError("decision text must not be empty");
  await scope.tx.run(
    `INSERT INTO decisions (id, task_id, agent_owner, kind, decision_text, rationale, created_at)
     VALUES (@id, @task_id, @agent_owner, @kind, @decision_text, @rationale, @created_at)`,
    row,
  );
  await appendAudit(scope, {
    ts: row.created_at,
    actor,
    action: "decision.recorded",
    entityType: "decision",
    entityId: row.id,
    details: { task_id: taskId, kind: row.kind },
  });
  return toDecision(row);
}

/** Registers an asset: a path inside the project that an agent produced. */
export async function registerAsset(scope: Scope, input: NewAsset, actor: Actor): Promise<Asset> {
  const taskId = input.taskId ? (await requireTask(scope, input.taskId)).id : null;
  const row = {
    id: newIdOf(scope),
    task_id: taskId,
    agent_owner: requireRole("agent owner", input.agentOwner, scope.roles, suggest),
    path: requireAssetPath(input.path),
    kind: input.kind === undefined ? "file" : requireLine("kind", input.kind, 100),
    description: requireText("description", input.description),
    created_at: nowOf(scope),
  };
  await scope.tx.run(
    `INSERT INTO asset_registry (id, task_id, agent_owner, path, kind, description, created_at)
     VALUES (@id, @task_id, @agent_owner, @path, @kind, @description, @created_at)`,
    row,
  );
  await appendAudit(scope, {
    ts: row.created_at,
    actor,
    action: "asset.registered",
    entityType: "asset",
    entityId: row.id,
    details: { task_id: taskId, path: row.path },
  });
  return toAsset(row);
}

/** Decisions, newest first, optionally of one task. */
export async function listDecisions(
  scope: Scope,
  filter: { taskId?: string; limit?: number },
): Promise<Decision[]> {
  const { tx } = scope;
  const limit = { limit: filter.limit ?? -1, task_id: filter.taskId ?? null };
  const rows = filter.taskId
    ? await tx.all<Record<string, unknown>>(
        `SELECT * FROM decisions WHERE task_id = @task_id ORDER BY id DESC ${tx.dialect.limit("limit")}`,
        limit,
      )
    : await tx.all<Record<string, unknown>>(
        `SELECT * FROM decisions ORDER BY id DESC ${tx.dialect.limit("limit")}`,
        { limit: limit.limit },
      );
  return rows.map(toDecision);
}

/** Assets, newest first, optionally of one task or registered in [since, until). */
export async function listAssets(
  scope: Scope,
  filter: { taskId?: string; since?: string; until?: string; limit?: number },
): Promise<Asset[]> {
  const rows = await scope.tx.all<Record<string, unknown>>(
    `SELECT * FROM asset_registry
      WHERE (CAST(@task_id AS TEXT) IS NULL OR task_id = @task_id)
        AND (CAST(@since AS TEXT) IS NULL OR created_at >= @since)
        AND (CAST(@until AS TEXT) IS NULL OR created_at < @until)
      ORDER BY id DESC ${scope.tx.dialect.limit("limit")}`,
    {
      task_id: filter.taskId ?? null,
      since: filter.since ?? null,
      until: filter.until ?? null,
      limit: filter.limit ?? -1,
    },
  );
  return rows.map(toAsset);
}
