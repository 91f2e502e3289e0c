import { LedgerError } from "../errors.js";
import { suggest } from "../text/suggest.js";
import type { Actor, LedgerCore } from "./core.js";
import { toTask } from "./rows.js";
import type { NewTask, Task } from "./types.js";
import {
  requireInstant,
  requireLine,
  requirePayload,
  requirePriority,
  requireRole,
  requireText,
} from "./validate.js";

/** Limits on agent-filed work, against runaway agents (`guardrails:` in producer.yaml). */
export interface Guardrails {
  maxDepth: number;
  maxChildrenPerTask: number;
  maxTasksPerRolePerHour: number;
}

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
}

/**
 * Inserts every task or none. Tasks in one batch may name each other by `ref` as parent (an
 * earlier one) or dependency (any one); cycles among them are refused.
 */
export function insertTasksSync(
  core: LedgerCore,
  tasks: readonly NewTask[],
  actor: Actor,
  guardrails: Guardrails | null,
): Task[] {
  if (!Array.isArray(tasks) || tasks.length === 0) {
    throw new LedgerError("nothing to insert: give at least one task");
  }
  const byRef = new Map<string, number>();
  const prepared = tasks.map((task, index) =>
    withPosition(tasks.length, index, task, () => {
      const p = prepare(core, task, actor);
      if (task.ref !== undefined) {
        const ref = requireLine("ref", task.ref, 200);
        if (byRef.has(ref)) throw new LedgerError(`ref "${ref}" is used by two tasks`);
        byRef.set(ref, index);
      }
      return p;
    }),
  );
  refuseCycles(tasks, prepared, byRef);

  const now = core.now();
  const created: Task[] = [];
  const fresh = new Set<string>();
  const siblings = new Map<string, number>();
  const perCreator = new Map<string, number>();
  for (const [index, p] of prepared.entries()) {
    withPosition(tasks.length, index, tasks[index]!, () => {
      const parent = resolveParent(core, p.parentRef, byRef, prepared, index);
      // An agent whose dispatch is retried files its follow-ups again: the same title for the
      // same role under the same parent, by the same creator, is the task already filed.
      const twin = parent
        ? (core
            .prepare(
              `SELECT id FROM tasks WHERE parent_task_id = ? AND agent_owner = ? AND title = ?
                 AND created_by = ? AND status != 'killed' LIMIT 1`,
            )
            .pluck()
            .get(parent.id, p.agentOwner, p.title, p.createdBy) as string | undefined)
        : undefined;
      if (twin) {
        p.id = twin;
        created.push(toTask(core.stmt.getTask.get(twin)!));
        return;
      }
      const depIds = [
        ...new Set(p.depRefs.map((d) => resolveDependency(core, d, byRef, prepared))),
      ];
      if (depIds.includes(p.id)) throw new LedgerError("a task cannot depend on itself");
      const openDeps = depIds.filter((d) => core.stmt.taskExists.get(d)?.status !== "done").length;
      const depth = parent ? parent.depth + 1 : 0;
      const sameParent = (siblings.get(parent?.id ?? "") ?? 0) + 1;
      const sameCreator = (perCreator.get(p.createdBy) ?? 0) + 1;
      // Only work an agent files is limited: humans and scripts may file what they like.
      if (guardrails && core.roles?.includes(p.createdBy)) {
        const refusal = checkGuardrails(core, guardrails, {
          depth,
          parentId: parent?.id ?? null,
          createdBy: p.createdBy,
          sameParent,
          sameCreator,
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
      core.stmt.insertTask.run({
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
        created_by: p.createdBy,
        created_at: now,
        updated_at: now,
      });
      core.auditTask(actor, "task.created", p.id, {
        role: p.agentOwner,
        title: p.title,
        priority: p.priority,
        parent_task_id: parent?.id ?? null,
        depends_on: depIds,
      });
      fresh.add(p.id);
      created.push(toTask(core.stmt.getTask.get(p.id)!));
    });
  }
  // Dependency rows last: a dependency may be a task later in the same batch.
  for (const task of created) {
    if (!fresh.has(task.id)) continue;
    for (const dep of task.dependsOn) core.stmt.insertDep.run(task.id, dep);
  }
  return created;
}

function checkGuardrails(
  core: LedgerCore,
  limits: Guardrails,
  c: {
    depth: number;
    parentId: string | null;
    createdBy: string;
    sameParent: number;
    sameCreator: number;
  },
): string | null {
  if (c.depth > limits.maxDepth) {
    return `guardrail: this task would sit ${c.depth} levels below a human-filed task, past guardrails.max_depth ${limits.maxDepth}; a chain this deep is usually agents filing work for each other in a loop`;
  }
  if (c.parentId) {
    const children = (
      core.prepare("SELECT COUNT(*) AS n FROM tasks WHERE parent_task_id = ?").get(c.parentId) as {
        n: number;
      }
    ).n;
    if (children + c.sameParent > limits.maxChildrenPerTask) {
      return `guardrail: task ${c.parentId} already has ${children} child tasks; guardrails.max_children_per_task is ${limits.maxChildrenPerTask}`;
    }
  }
  const since = new Date(core.clock.now() - 3_600_000).toISOString();
  const recent = (
    core
      .prepare("SELECT COUNT(*) AS n FROM tasks WHERE created_by = ? AND created_at > ?")
      .get(c.createdBy, since) as { n: number }
  ).n;
  if (recent + c.sameCreator > limits.maxTasksPerRolePerHour) {
    return `guardrail: role ${c.createdBy} filed ${recent} tasks in the last hour; guardrails.max_tasks_per_role_per_hour is ${limits.maxTasksPerRolePerHour}`;
  }
  return null;
}

function prepare(core: LedgerCore, task: NewTask, actor: Actor): Prepared {
  if (task === null || typeof task !== "object") throw new LedgerError("a task must be an object");
  const dependsOn = task.dependsOn ?? [];
  if (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== "string" || d === "")) {
    throw new LedgerError("dependsOn must be a list of task ids");
  }
  return {
    id: core.newId(),
    agentOwner: requireRole("agent owner", task.agentOwner, core.roles, suggest),
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
  };
}

function resolveParent(
  core: LedgerCore,
  ref: string | null,
  byRef: Map<string, number>,
  prepared: Prepared[],
  index: number,
): { id: string; depth: number } | null {
  if (ref === null) return null;
  const local = byRef.get(ref);
  if (local !== undefined) {
    if (local >= index) {
      throw new LedgerError(`parent "${ref}" must come before the tasks that name it`);
    }
    const id = prepared[local]!.id;
    return { id, depth: core.stmt.taskExists.get(id)!.depth };
  }
  const row = core.stmt.taskExists.get(ref);
  if (!row) throw new LedgerError(`parent task ${JSON.stringify(ref)} does not exist`);
  return { id: ref, depth: row.depth };
}

function resolveDependency(
  core: LedgerCore,
  ref: string,
  byRef: Map<string, number>,
  prepared: Prepared[],
): string {
  const local = byRef.get(ref);
  if (local !== undefined) return prepared[local]!.id;
  if (!core.stmt.taskExists.get(ref)) {
    throw new LedgerError(`dependency ${JSON.stringify(ref)} does not exist`);
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

function withPosition<T>(count: number, index: number, task: NewTask, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (count === 1 || !(error instanceof LedgerError)) throw error;
    const label =
      typeof task?.title === "string" ? ` (${JSON.stringify(task.title.slice(0, 60))})` : "";
    throw new LedgerError(`task ${index + 1} of ${count}${label}: ${error.message}`, {
      cause: error,
    });
  }
}
