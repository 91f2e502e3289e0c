import { smallestIdAt } from "../clock.js";
import { LedgerError, LedgerNotFound } from "../errors.js";
import { suggest } from "../text/suggest.js";
import { auditTask, nextAuditSeq } from "./audit/chain.js";
import { TASK_COLUMNS } from "./rows.js";
import { type Guardrails, guardrailRefusal } from "./rules/guardrails.js";
import { type Actor, newIdOf, nowOf, requireTask, type Scope, writeTask } from "./scope.js";
import type { NewTask, Task } from "./types.js";
import {
  requireInstant,
  requireLine,
  requirePayload,
  requirePriority,
  requireRole,
  requireText,
} from "./validate.js";

export type { Guardrails };

/**
 * A guardrail refused an agent-filed task. Thrown inside the insert transaction (so nothing
 * of the batch is written); the client records the refusal in the audit log afterwards.
 */
export class GuardrailRefusal extends LedgerError {
  constructor(
    message: string,
    readonly details: {
      role: string;
      title: string;
      createdBy: string;
      parentTaskId: string | null;
    },
  ) {
    super(message);
  }
}

/** The audit event that keeps a guardrail's refusal after its batch was rolled back. */
export function refusalEvent(error: unknown, actor: Actor) {
  const refusal = error instanceof GuardrailRefusal ? error : (error as Error)?.cause;
  if (!(refusal instanceof GuardrailRefusal)) return null;
  const { details } = refusal;
  return {
    action: "guardrail.refused",
    entityType: "guardrail",
    entityId: details.parentTaskId,
    actor,
    details: {
      reason: refusal.message,
      role: details.role,
      title: details.title,
      created_by: details.createdBy,
    },
  };
}

interface Prepared {
  id: string;
  agentOwner: string;
  title: string;
  description: string;
  payload: string;
  priority: number;
  notBefore: string | null;
  createdBy: string;
  parentRef: string | null;
  depRefs: string[];
  /** Why it waits for a human: asked for on the task, or its role is gated; null: it does not. */
  gate: "task" | "role" | null;
}

/**
 * Inserts every task or none. Tasks in one batch may name each other by `ref` as parent (an
 * earlier one) or dependency (any one); cycles among them are refused.
 */
export async function insertTasks(
  scope: Scope,
  tasks: readonly NewTask[],
  actor: Actor,
  guardrails: Guardrails | null,
): Promise<Task[]> {
  const { tx } = scope;
  if (!Array.isArray(tasks) || tasks.length === 0) {
    throw new LedgerError("nothing to insert: give at least one task");
  }
  const byRef = new Map<string, number>();
  const prepared = tasks.map((task, index) =>
    withPositionSync(tasks.length, index, task, () => {
      const p = prepare(scope, task, actor);
      if (task.ref !== undefined) {
        const ref = requireLine("ref", task.ref, 200);
        if (byRef.has(ref)) throw new LedgerError(`ref "${ref}" is used by two tasks`);
        byRef.set(ref, index);
      }
      return p;
    }),
  );
  refuseCycles(tasks, prepared, byRef);

  const now = nowOf(scope);
  const created: Task[] = [];
  const fresh = new Set<string>();
  const siblings = new Map<string, number>();
  const perCreator = new Map<string, number>();
  for (const [index, p] of prepared.entries()) {
    await withPosition(tasks.length, index, tasks[index]!, async () => {
      // Where writers run side by side (PostgreSQL), the counts below and the twin check must
      // read what every other filer committed: the role's filings, then the parent, are held.
      if (guardrails && scope.roles?.includes(p.createdBy)) {
        await tx.lock({ kind: "filer", role: p.createdBy });
      }
      const parent = await resolveParent(scope, p.parentRef, byRef, prepared, index);
      if (parent) await tx.lock({ kind: "task", id: parent.id });
      // An agent whose dispatch is retried files its follow-ups again: the same title for the
      // same role under the same parent, by the same creator, is the task already filed.
      const twin = parent
        ? await tx.one<{ id: string }>(
            `SELECT id FROM tasks WHERE parent_task_id = ? AND agent_owner = ? AND title = ?
               AND created_by = ? AND status != 'killed' LIMIT 1`,
            [parent.id, p.agentOwner, p.title, p.createdBy],
          )
        : undefined;
      if (twin) {
        p.id = twin.id;
        created.push(await requireTask(scope, twin.id));
        return;
      }
      const depIds: string[] = [];
      for (const ref of p.depRefs) {
        const id = await resolveDependency(scope, ref, byRef, prepared);
        if (!depIds.includes(id)) depIds.push(id);
      }
      if (depIds.includes(p.id)) throw new LedgerError("a task cannot depend on itself");
      let openDeps = 0;
      for (const dep of depIds) {
        // Held, so a completion of the dependency either commits first (and it reads done
        // here) or waits for this filing (and its trigger then sees the new edge).
        await tx.lock({ kind: "task", id: dep });
        if ((await taskState(scope, dep))?.status !== "done") openDeps++;
      }
      const depth = parent ? parent.depth + 1 : 0;
      const sameParent = (siblings.get(parent?.id ?? "") ?? 0) + 1;
      const sameCreator = (perCreator.get(p.createdBy) ?? 0) + 1;
      // Only work an agent files is limited: humans and scripts may file what they like.
      if (guardrails && scope.roles?.includes(p.createdBy)) {
        const refusal = guardrailRefusal(guardrails, {
          depth,
          parentId: parent?.id ?? null,
          createdBy: p.createdBy,
          existingChildren: parent ? await childCount(scope, parent.id) : 0,
          batchChildren: sameParent,
          filedLastHour: await filedInLastHour(scope, p.createdBy),
          batchFiled: sameCreator,
        });
        if (refusal) {
          throw new GuardrailRefusal(refusal, {
            role: p.agentOwner,
            title: p.title,
            createdBy: p.createdBy,
            parentTaskId: parent?.id ?? null,
          });
        }
      }
      siblings.set(parent?.id ?? "", sameParent);
      perCreator.set(p.createdBy, sameCreator);
      const listed = await nextAuditSeq(scope);
      const row = await writeTask(scope, INSERT_TASK, {
        id: p.id,
        agent_owner: p.agentOwner,
        title: p.title,
        description: p.description,
        payload: p.payload,
        priority: p.priority,
        parent_task_id: parent?.id ?? null,
        depth,
        depends_on: JSON.stringify(depIds),
        open_deps: openDeps,
        not_before: p.notBefore,
        status: p.gate ? "awaiting_approval" : "pending",
        created_by: p.createdBy,
        created_at: now,
        updated_at: now,
        audit_seq: listed,
      });
      const details = {
        role: p.agentOwner,
        title: p.title,
        priority: p.priority,
        parent_task_id: parent?.id ?? null,
        depends_on: depIds,
        ...(p.gate ? { awaiting_approval: p.gate } : {}),
      };
      if (!row) throw new LedgerError(`task ${p.id} was not stored`, { code: "storage" });
      await auditTask(scope, actor, "task.created", p.id, details, row.digest, listed);
      fresh.add(p.id);
      created.push(row.task);
    });
  }
  // Dependency rows last: a dependency may be a task later in the same batch.
  for (const task of created) {
    if (!fresh.has(task.id)) continue;
    for (const dep of task.dependsOn) {
      await tx.run("INSERT INTO task_deps (task_id, depends_on) VALUES (?, ?)", [task.id, dep]);
    }
  }
  return created;
}

const INSERT_TASK = `INSERT INTO tasks (id, agent_owner, title, description, payload, priority,
    parent_task_id, depth, depends_on, open_deps, not_before, status, created_by, created_at,
    updated_at, audit_seqs)
  VALUES (@id, @agent_owner, @title, @description, @payload, @priority, @parent_task_id,
    @depth, @depends_on, @open_deps, @not_before, @status, @created_by, @created_at, @updated_at,
    COALESCE(@audit_seq || ',', ''))
  RETURNING ${TASK_COLUMNS}`;

function taskState(scope: Scope, id: string) {
  return scope.tx.one<{ status: string; depth: number }>(
    "SELECT status, depth FROM tasks WHERE id = ?",
    [id],
  );
}

async function childCount(scope: Scope, parentId: string): Promise<number> {
  const row = await scope.tx.one<{ n: number }>(
    "SELECT COUNT(*) AS n FROM tasks WHERE parent_task_id = ?",
    [parentId],
  );
  return Number(row?.n ?? 0);
}

async function filedInLastHour(scope: Scope, createdBy: string): Promise<number> {
  const since = scope.clock.now() - 3_600_000;
  // Ids are ULIDs stamped by the same clock: the hour's tasks are a range of the primary key
  // (from a minute earlier, in case the clock stepped back between stamping and filing).
  const row = await scope.tx.one<{ n: number }>(
    "SELECT COUNT(*) AS n FROM tasks WHERE id >= ? AND created_by = ? AND created_at > ?",
    [smallestIdAt(since - 60_000), createdBy, new Date(since).toISOString()],
  );
  return Number(row?.n ?? 0);
}

function prepare(scope: Scope, task: NewTask, actor: Actor): Prepared {
  if (task === null || typeof task !== "object") throw new LedgerError("a task must be an object");
  const dependsOn = task.dependsOn ?? [];
  if (task.requiresApproval !== undefined && typeof task.requiresApproval !== "boolean") {
    throw new LedgerError("requiresApproval must be true or false");
  }
  const agentOwner = requireRole("agent owner", task.agentOwner, scope.roles, suggest);
  if (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== "string" || d === "")) {
    throw new LedgerError("dependsOn must be a list of task ids");
  }
  return {
    id: newIdOf(scope),
    agentOwner,
    title: requireLine("title", task.title),
    description: requireText("description", task.description),
    payload: requirePayload(task.payload),
    priority: requirePriority(task.priority),
    notBefore: requireInstant("notBefore", task.notBefore),
    createdBy: task.createdBy === undefined ? actor : requireLine("createdBy", task.createdBy, 100),
    parentRef:
      task.parentTaskId === undefined || task.parentTaskId === null || task.parentTaskId === ""
        ? null
        : String(task.parentTaskId),
    depRefs: dependsOn,
    // A role's gate holds whatever the filer asks: an agent cannot file around it.
    gate: scope.approvalRoles?.includes(agentOwner)
      ? "role"
      : task.requiresApproval === true
        ? "task"
        : null,
  };
}

async function resolveParent(
  scope: Scope,
  ref: string | null,
  byRef: Map<string, number>,
  prepared: Prepared[],
  index: number,
): Promise<{ id: string; depth: number } | null> {
  if (ref === null) return null;
  const local = byRef.get(ref);
  if (local !== undefined) {
    if (local >= index) {
      throw new LedgerError(`parent "${ref}" must come before the tasks that name it`);
    }
    const id = prepared[local]!.id;
    return { id, depth: Number((await taskState(scope, id))!.depth) };
  }
  const row = await taskState(scope, ref);
  if (!row) throw new LedgerNotFound(`parent task ${JSON.stringify(ref)} does not exist`);
  return { id: ref, depth: Number(row.depth) };
}

async function resolveDependency(
  scope: Scope,
  ref: string,
  byRef: Map<string, number>,
  prepared: Prepared[],
): Promise<string> {
  const local = byRef.get(ref);
  if (local !== undefined) return prepared[local]!.id;
  if (!(await taskState(scope, ref))) {
    throw new LedgerNotFound(`dependency ${JSON.stringify(ref)} does not exist`);
  }
  return ref;
}

/** Existing tasks cannot depend on new ones, so any cycle lies inside the batch. */
function refuseCycles(tasks: readonly NewTask[], prepared: Prepared[], byRef: Map<string, number>) {
  const state = new Array<0 | 1 | 2>(prepared.length).fill(0);
  const visit = (i: number, path: number[]): void => {
    if (state[i] === 2) return;
    if (state[i] === 1) {
      const cycle = [...path.slice(path.indexOf(i)), i].map((k) => tasks[k]!.ref ?? `#${k + 1}`);
      throw new LedgerError(`dependency cycle: ${cycle.join(" -> ")}`);
    }
    state[i] = 1;
    for (const dep of prepared[i]!.depRefs) {
      const j = byRef.get(dep);
      if (j !== undefined) visit(j, [...path, i]);
    }
    state[i] = 2;
  };
  for (let i = 0; i < prepared.length; i++) visit(i, []);
}

/** Names the task of a batch a refusal concerns: "task 2 of 3 ("Write docs"): ...". */
function inPosition(count: number, index: number, task: NewTask, error: unknown): unknown {
  if (count === 1 || !(error instanceof LedgerError)) return error;
  const label =
    typeof task?.title === "string" ? ` (${JSON.stringify(task.title.slice(0, 60))})` : "";
  return new LedgerError(`task ${index + 1} of ${count}${label}: ${error.message}`, {
    cause: error,
    code: error.code,
  });
}

function withPositionSync<T>(count: number, index: number, task: NewTask, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw inPosition(count, index, task, error);
  }
}

async function withPosition<T>(
  count: number,
  index: number,
  task: NewTask,
  work: () => Promise<T>,
): Promise<T> {
  // A single task needs no position in its errors, nor this extra step per statement.
  if (count === 1) return work();
  try {
    return await work();
  } catch (error) {
    throw inPosition(count, index, task, error);
  }
}
