/** Limits on agent-filed work, against runaway agents (`guardrails:` in producer.yaml). */
export interface Guardrails {
  maxDepth: number;
  maxChildrenPerTask: number;
  maxTasksPerRolePerHour: number;
}

/** What the guardrails look at for one new task an agent files. */
export interface FilingCounts {
  /** Levels below a human-filed task the new one would sit. */
  depth: number;
  parentId: string | null;
  createdBy: string;
  /** Children the parent has in the ledger, and how many this batch adds, this one included. */
  existingChildren: number;
  batchChildren: number;
  /** Tasks this creator filed in the last hour, and how many this batch adds, this one included. */
  filedLastHour: number;
  batchFiled: number;
}

/** Why the guardrails refuse the task, or null when they let it through. */
export function guardrailRefusal(limits: Guardrails, c: FilingCounts): string | null {
  if (c.depth > limits.maxDepth) {
    return `guardrail: this task would sit ${c.depth} levels below a human-filed task, past guardrails.max_depth ${limits.maxDepth}; a chain this deep is usually agents filing work for each other in a loop`;
  }
  if (c.parentId && c.existingChildren + c.batchChildren > limits.maxChildrenPerTask) {
    return `guardrail: task ${c.parentId} already has ${c.existingChildren} child tasks; guardrails.max_children_per_task is ${limits.maxChildrenPerTask}`;
  }
  if (c.filedLastHour + c.batchFiled > limits.maxTasksPerRolePerHour) {
    return `guardrail: role ${c.createdBy} filed ${c.filedLastHour} tasks in the last hour; guardrails.max_tasks_per_role_per_hour is ${limits.maxTasksPerRolePerHour}`;
  }
  return null;
}
