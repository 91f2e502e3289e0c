/** `producer task show`: everything the ledger knows about one task, gathered and rendered. */
import { existingAttemptLog } from "../../attempts/output-log.js";
import { LedgerNotFound } from "../../errors.js";
import type { Ledger } from "../../ledger/ledger.js";
import type { Asset, AuditRow, Decision, Task, TaskAttempt } from "../../ledger/types.js";
import type { Style } from "../../text/style.js";
import { renderTable, statusCell, taskUsd } from "./table.js";

/** How many of a task's audit rows `task show` includes, newest kept. */
export const SHOW_AUDIT_ROWS = 20;

/** One task with everything around it; also the `--json` shape of `producer task show`. */
export interface TaskDetail {
  task: Task;
  parent: Task | null;
  /** The tasks it waits for (ids that no longer resolve are left out). */
  dependencies: Task[];
  children: Task[];
  /** Each with the file holding what the agent printed, when one was kept. */
  attempts: (TaskAttempt & { log: string | null })[];
  decisions: Decision[];
  assets: Asset[];
  /** Its most recent audit rows, oldest first. */
  audit: AuditRow[];
}

/** The task, or the ledger's own `no task with id` refusal. */
export async function requireTask(ledger: Ledger, id: string): Promise<Task> {
  const task = await ledger.getTask(id);
  if (!task) throw new LedgerNotFound(`no task with id ${JSON.stringify(id)}`);
  return task;
}

/** Reads a task's detail; an unknown id is the ledger's own `no task with id` refusal. */
export async function loadTaskDetail(
  ledger: Ledger,
  id: string,
  agentStateDir: string,
): Promise<TaskDetail> {
  const task = await requireTask(ledger, id);
  const [parent, dependencies, children, attempts, decisions, assets, audit] = await Promise.all([
    task.parentTaskId ? ledger.getTask(task.parentTaskId) : Promise.resolve(null),
    Promise.all(task.dependsOn.map((d) => ledger.getTask(d))),
    ledger.listChildren(id),
    ledger.listAttempts(id),
    ledger.listDecisions({ taskId: id }),
    ledger.listAssets({ taskId: id }),
    ledger.recentAudit(SHOW_AUDIT_ROWS, id),
  ]);
  return {
    task,
    parent,
    dependencies: dependencies.filter((d): d is Task => d !== null),
    children,
    attempts: attempts.map((a) => ({
      ...a,
      log: existingAttemptLog(agentStateDir, id, a.attempt),
    })),
    decisions,
    assets,
    audit: audit.reverse(),
  };
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((l) => (l === "" ? "" : `  ${l}`))
    .join("\n");

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

const flat = (text: string) => text.replace(/\s*\n\s*/g, " ");

function paintStatus(task: Task, style: Style): string {
  const cell = statusCell(task.status, style);
  return typeof cell === "string" ? cell : cell.paint(cell.text);
}

/** `id (role, status) title`, the way a related task is named. */
function related(t: Task, style: Style): string {
  return `${t.id} (${t.agentOwner}, ${paintStatus(t, style)}) ${t.title}`;
}

/**
 * "2 attempts", or, once a requeue restarted the count the retry limit is measured by, that
 * count and the whole: "1 attempt since it was last queued, 5 in all" (the table lists all).
 */
function attemptsInWords(t: Task, attempts: TaskAttempt[]): string {
  const counted = attempts.filter((a) => a.outcome !== "released").length;
  if (counted <= t.attempts) return plural(t.attempts, "attempt");
  return `${plural(t.attempts, "attempt")} since it was last queued, ${counted} in all`;
}

/** The key/value block at the top: what the task is and where it stands. */
function fieldLines(detail: TaskDetail, style: Style): string[] {
  const { task: t } = detail;
  const fields: [string, string][] = [
    ["id", t.id],
    ["status", `${paintStatus(t, style)}, ${attemptsInWords(t, detail.attempts)}`],
    ["role", t.agentOwner],
    ["priority", String(t.priority)],
    ["filed", `${t.createdAt} by ${t.createdBy}`],
    [
      "parent",
      detail.parent
        ? related(detail.parent, style)
        : t.parentTaskId
          ? `${t.parentTaskId} (no longer in the ledger)`
          : "none",
    ],
  ];
  if (t.dependsOn.length > 0) {
    const known = new Map(detail.dependencies.map((d) => [d.id, d]));
    const deps = t.dependsOn.map((id) => {
      const dep = known.get(id);
      return dep ? related(dep, style) : `${id} (no longer in the ledger)`;
    });
    fields.push(["depends on", deps.join("\n")]);
  }
  if (t.notBefore) fields.push(["not before", t.notBefore]);
  if (t.startedAt) fields.push(["started", t.startedAt]);
  if (t.finishedAt) fields.push(["finished", t.finishedAt]);
  if (t.status === "in_progress") {
    fields.push(["claimed by", `${t.claimedBy ?? "unknown"}, lease until ${t.leaseExpiresAt}`]);
  }
  fields.push([
    "cost",
    `${taskUsd(t.costUsd)}${t.actualCostUsd === null ? "" : ` (reported by the SDK: ${taskUsd(t.actualCostUsd)})`}`,
  ]);
  const tokens = [t.inputTokens, t.outputTokens, t.cacheCreationTokens, t.cacheReadTokens];
  if (tokens.some((n) => n > 0)) {
    const [input, output, write, read] = tokens.map((n) => n.toLocaleString("en-US"));
    fields.push(["tokens", `in ${input}, out ${output}, cache write ${write}, cache read ${read}`]);
  }
  if (t.model) fields.push(["model", t.model]);
  if (t.lastError) fields.push(["last error", style.red(t.lastError)]);
  if (t.result) fields.push(["result", t.result]);
  fields.push(["updated", t.updatedAt]);
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([key, value]) => {
    const [first, ...rest] = value.split("\n");
    const pad = " ".repeat(width + 2);
    return [`${style.dim(key.padEnd(width))}  ${first}`, ...rest.map((l) => `${pad}${l}`)].join(
      "\n",
    );
  });
}

/**
 * An audit row's details as `key=value` pairs. The digest of the audited record is left out:
 * it is for `producer audit verify`, not for a person reading the history.
 */
function auditDetails(details: string, style: Style): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(details);
  } catch {
    return `  ${style.dim(details)}`;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return `  ${style.dim(details)}`;
  }
  const pairs = Object.entries(parsed)
    .filter(([key, value]) => key !== "digest" && value !== null)
    .map(([key, value]) => {
      const plain = typeof value === "string" && /^[^\s"=]+$/.test(value);
      return `${key}=${plain ? value : JSON.stringify(value)}`;
    });
  return pairs.length > 0 ? `  ${style.dim(pairs.join(" "))}` : "";
}

/** What a human can do next with a task in this state: the commands, ready to paste. */
function nextSteps(t: Task): string[] {
  const steps: string[] = [];
  if (["failed", "escalated", "killed"].includes(t.status)) {
    steps.push(`producer task requeue ${t.id}`);
  }
  if (["pending", "failed", "escalated"].includes(t.status)) {
    steps.push(`producer task reroute ${t.id} ROLE`);
  }
  if (["pending", "in_progress", "failed", "escalated"].includes(t.status)) {
    steps.push(`producer task kill ${t.id} --reason "..."`);
  }
  return steps;
}

/** The text of `producer task show`; sections appear only when they have something in them. */
export function renderTaskDetail(detail: TaskDetail, style: Style): string {
  const { task: t } = detail;
  const out: string[] = [style.bold(t.title), "", ...fieldLines(detail, style)];
  const section = (title: string, lines: string[]) => {
    out.push("", style.bold(title), ...lines.map(indent));
  };
  section("description", [t.description.trim() === "" ? "(none)" : t.description.trimEnd()]);
  if (Object.keys(t.payload).length > 0) {
    section("payload", [JSON.stringify(t.payload, null, 2)]);
  }
  if (detail.attempts.length > 0) {
    section(
      `attempts (${detail.attempts.length})`,
      renderTable(
        [
          { header: "#", align: "right" },
          { header: "STARTED" },
          { header: "OUTCOME" },
          { header: "COST", align: "right" },
          { header: "ERROR" },
        ],
        detail.attempts.map((a) => [
          String(a.attempt),
          a.startedAt,
          a.outcome,
          taskUsd(a.costUsd),
          a.error ? { text: flat(a.error), paint: style.red } : "",
        ]),
        style,
      ),
    );
    const logs = detail.attempts.filter((a) => a.log);
    if (logs.length > 0) {
      section(
        "output",
        logs.map((a) => `attempt ${a.attempt}: ${a.log}`),
      );
    }
  }
  if (detail.decisions.length > 0) {
    section(
      `decisions (${detail.decisions.length})`,
      detail.decisions.map(
        (d) =>
          `- ${d.createdAt} ${d.agentOwner}${d.kind ? ` [${d.kind}]` : ""}: ${d.decisionText}${d.rationale ? `\n  why: ${d.rationale}` : ""}`,
      ),
    );
  }
  if (detail.assets.length > 0) {
    section(
      `assets (${detail.assets.length})`,
      detail.assets.map(
        (a) =>
          `- ${a.path}${a.kind ? ` (${a.kind})` : ""}${a.description ? `: ${a.description}` : ""}`,
      ),
    );
  }
  if (detail.children.length > 0) {
    section(
      `children (${detail.children.length})`,
      detail.children.map((c) => `- ${related(c, style)}`),
    );
  }
  if (detail.audit.length > 0) {
    section(
      `audit (last ${plural(detail.audit.length, "row")})`,
      detail.audit.map(
        (a) => `${style.dim(a.ts)}  ${a.actor}  ${a.action}${auditDetails(a.details, style)}`,
      ),
    );
  }
  const steps = nextSteps(t);
  if (steps.length > 0) section("what you can do", steps);
  return `${out.join("\n")}\n`;
}
