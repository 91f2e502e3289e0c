import type { McpSdkServerConfigWithInstance } from "@anthropic-ai/claude-agent-sdk";
import { z } from "zod";
import { asError, ProducerError } from "../../errors.js";
import type { AgentLedger } from "../../ledger/ledger.js";
import type { Task, TaskStatus } from "../../ledger/types.js";
import { TASK_STATUSES } from "../../ledger/types.js";

type Sdk = typeof import("@anthropic-ai/claude-agent-sdk");

/** The ledger tools' names as the model sees them. */
export const LEDGER_TOOL_NAMES = [
  "mcp__ledger__insert_task",
  "mcp__ledger__record_decision",
  "mcp__ledger__register_asset",
  "mcp__ledger__get_task",
  "mcp__ledger__list_tasks",
] as const;

/** Counts what the agent did through the tools, for no-productive-output detection. */
export interface ToolCounters {
  ledgerWrites: number;
}

type ToolText = { content: { type: "text"; text: string }[]; isError?: boolean };

const reply = (text: string): ToolText => ({ content: [{ type: "text", text }] });
const refuse = (text: string): ToolText => ({ content: [{ type: "text", text }], isError: true });

/** What an agent sees of a task: enough to act on, without claim internals. */
function view(task: Task) {
  return {
    id: task.id,
    role: task.agentOwner,
    title: task.title,
    description: task.description,
    payload: task.payload,
    priority: task.priority,
    status: task.status,
    attempts: task.attempts,
    parent_task_id: task.parentTaskId,
    depends_on: task.dependsOn,
    result: task.result,
    last_error: task.lastError,
    created_by: task.createdBy,
    created_at: task.createdAt,
  };
}

/**
 * The in-process `ledger` MCP server handed to every Claude dispatch. Every write is
 * attributed to the dispatched task (as parent) and its role (as creator); a refusal (bad
 * input, a guardrail) comes back to the agent as a tool error it can read and act on.
 */
export function createLedgerServer(
  sdk: Sdk,
  ledger: AgentLedger,
  task: Task,
  counters: ToolCounters,
): McpSdkServerConfigWithInstance {
  const role = task.agentOwner;
  const guarded =
    <A>(write: boolean, work: (args: A) => Promise<string>) =>
    async (args: A): Promise<ToolText> => {
      try {
        const text = await work(args);
        if (write) counters.ledgerWrites++;
        return reply(text);
      } catch (error) {
        const err = asError(error);
        return refuse(
          err instanceof ProducerError ? `refused: ${err.message}` : `failed: ${err.message}`,
        );
      }
    };

  return sdk.createSdkMcpServer({
    name: "ledger",
    version: "1.0.0",
    // Offered in the first request, not deferred behind ToolSearch: filing follow-up work is
    // what every dispatch is for, and a model should not spend a turn discovering how.
    alwaysLoad: true,
    tools: [
      sdk.tool(
        "insert_task",
        "File a follow-up task for a role (yours or another). This task becomes its parent. Use it for every piece of downstream work the next roles must do.",
        {
          agent_owner: z.string().describe("the role that will do it, e.g. code, qa"),
          title: z.string().describe("one line saying what to do"),
          description: z.string().optional().describe("what done looks like, where to look"),
          payload: z.record(z.string(), z.unknown()).optional().describe("structured details"),
          priority: z
            .number()
            .int()
            .min(1)
            .max(9)
            .optional()
            .describe("1 highest .. 9 lowest; default 5"),
          depends_on: z.array(z.string()).optional().describe("task ids that must be done first"),
          requires_approval: z
            .boolean()
            .optional()
            .describe("true: a human must approve it before it runs (risky or costly work)"),
        },
        guarded(true, async (args) => {
          const created = await ledger.insertTask(
            {
              agentOwner: args.agent_owner,
              title: args.title,
              description: args.description,
              payload: args.payload,
              priority: args.priority,
              dependsOn: args.depends_on,
              parentTaskId: task.id,
              createdBy: role,
              requiresApproval: args.requires_approval,
            },
            { actor: role },
          );
          const gate =
            created.status === "awaiting_approval" ? " (awaiting a human's approval)" : "";
          return `filed task ${created.id} for ${created.agentOwner}: ${created.title}${gate}`;
        }),
      ),
      sdk.tool(
        "record_decision",
        "Record a decision you made on this task: what, and why. Do this for every significant choice.",
        {
          decision_text: z.string().describe("what you decided"),
          rationale: z.string().optional().describe("why"),
          kind: z.string().optional().describe("e.g. design, implementation, scope"),
        },
        guarded(true, async (args) => {
          const decision = await ledger.recordDecision(
            {
              taskId: task.id,
              agentOwner: role,
              kind: args.kind,
              decisionText: args.decision_text,
              rationale: args.rationale,
            },
            { actor: role },
          );
          return `recorded decision ${decision.id}`;
        }),
      ),
      sdk.tool(
        "register_asset",
        "Register a file you produced (path relative to the project root).",
        {
          path: z.string().describe("relative path inside the project"),
          kind: z.string().optional().describe("e.g. spec, code, image, test"),
          description: z.string().optional(),
        },
        guarded(true, async (args) => {
          const asset = await ledger.registerAsset(
            {
              taskId: task.id,
              agentOwner: role,
              path: args.path,
              kind: args.kind,
              description: args.description,
            },
            { actor: role },
          );
          return `registered ${asset.path}`;
        }),
      ),
      sdk.tool(
        "get_task",
        "Read one task of the ledger by id.",
        { id: z.string() },
        guarded(false, async (args) => {
          const found = await ledger.getTask(args.id);
          if (!found) throw new ProducerError(`no task with id ${JSON.stringify(args.id)}`);
          return JSON.stringify(view(found), null, 2);
        }),
      ),
      sdk.tool(
        "list_tasks",
        "List ledger tasks, newest first (at most 100).",
        {
          status: z.enum(TASK_STATUSES as [TaskStatus, ...TaskStatus[]]).optional(),
          role: z.string().optional(),
          parent_task_id: z.string().optional(),
          text: z.string().optional().describe("search in titles and descriptions"),
          limit: z.number().int().min(1).max(100).optional(),
        },
        guarded(false, async (args) => {
          const tasks = await ledger.listTasks({
            status: args.status,
            role: args.role,
            parentTaskId: args.parent_task_id,
            text: args.text,
            limit: args.limit ?? 20,
          });
          return JSON.stringify(tasks.map(view), null, 2);
        }),
      ),
    ],
  });
}
