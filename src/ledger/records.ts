import { LedgerError } from "../errors.js";
import { suggest } from "../text/suggest.js";
import type { Actor, LedgerCore } from "./core.js";
import { toAsset, toDecision } from "./rows.js";
import type { Asset, Decision, NewAsset, NewDecision } from "./types.js";
import { requireAssetPath, requireLine, requireRole, requireText } from "./validate.js";

/** Records a decision (append-only, audited). */
export function recordDecisionSync(core: LedgerCore, input: NewDecision, actor: Actor): Decision {
  const taskId = input.taskId ? core.requireTask(input.taskId).id : null;
  const row = {
    id: core.newId(),
    task_id: taskId,
    agent_owner: requireRole("agent owner", input.agentOwner, core.roles, suggest),
    kind: input.kind === undefined ? "note" : requireLine("kind", input.kind, 100),
    decision_text: requireText("decision text", input.decisionText),
    rationale: requireText("rationale", input.rationale),
    created_at: core.now(),
  };
  if (row.decision_text.trim() === "") throw new LedgerError("decision text must not be empty");
  core
    .prepare(
      `INSERT INTO decisions (id, task_id, agent_owner, kind, decision_text, rationale, created_at)
       VALUES (@id, @task_id, @agent_owner, @kind, @decision_text, @rationale, @created_at)`,
    )
    .run(row);
  core.audit.appendSync({
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
export function registerAssetSync(core: LedgerCore, input: NewAsset, actor: Actor): Asset {
  const taskId = input.taskId ? core.requireTask(input.taskId).id : null;
  const row = {
    id: core.newId(),
    task_id: taskId,
    agent_owner: requireRole("agent owner", input.agentOwner, core.roles, suggest),
    path: requireAssetPath(input.path),
    kind: input.kind === undefined ? "file" : requireLine("kind", input.kind, 100),
    description: requireText("description", input.description),
    created_at: core.now(),
  };
  core
    .prepare(
      `INSERT INTO asset_registry (id, task_id, agent_owner, path, kind, description, created_at)
       VALUES (@id, @task_id, @agent_owner, @path, @kind, @description, @created_at)`,
    )
    .run(row);
  core.audit.appendSync({
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
export function listDecisionsSync(
  core: LedgerCore,
  filter: { taskId?: string; limit?: number },
): Decision[] {
  const rows = filter.taskId
    ? core
        .prepare("SELECT * FROM decisions WHERE task_id = ? ORDER BY id DESC LIMIT ?")
        .all(filter.taskId, filter.limit ?? -1)
    : core.prepare("SELECT * FROM decisions ORDER BY id DESC LIMIT ?").all(filter.limit ?? -1);
  return (rows as Record<string, unknown>[]).map(toDecision);
}

/** Assets, newest first, optionally of one task or registered in [since, until). */
export function listAssetsSync(
  core: LedgerCore,
  filter: { taskId?: string; since?: string; until?: string; limit?: number },
): Asset[] {
  const rows = core
    .prepare(
      `SELECT * FROM asset_registry
        WHERE (@task_id IS NULL OR task_id = @task_id)
          AND (@since IS NULL OR created_at >= @since)
          AND (@until IS NULL OR created_at < @until)
        ORDER BY id DESC LIMIT @limit`,
    )
    .all({
      task_id: filter.taskId ?? null,
      since: filter.since ?? null,
      until: filter.until ?? null,
      limit: filter.limit ?? -1,
    });
  return (rows as Record<string, unknown>[]).map(toAsset);
}
