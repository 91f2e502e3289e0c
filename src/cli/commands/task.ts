import { resolve } from "node:path";
import type { Command } from "commander";
import { LedgerError, LedgerNotFound, UsageError } from "../../errors.js";
import type { Ledger } from "../../ledger/ledger.js";
import { requireRole } from "../../ledger/validate.js";
import { suggest } from "../../text/suggest.js";
import { type CommandEnv, cliActor, withProjectLedger } from "../context.js";
import { registerApproval } from "../task/approval.js";
import {
  parseIdList,
  parseInstant,
  parseLimit,
  parsePayload,
  parsePriority,
  parseStatuses,
  readStdin,
} from "../task/flags.js";

interface AddFlags {
  agent: string;
  title: string;
  description?: string;
  payload?: string;
  priority?: string;
  parent?: string;
  dependsOn?: string;
  notBefore?: string;
  approval?: boolean;
  json?: boolean;
}

interface ListFlags {
  status?: string;
  agent?: string;
  parent?: string;
  search?: string;
  limit: string;
  all?: boolean;
  json?: boolean;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Task ids are typed from logs, which show their last 8 characters: any unique end will do. */
const ID_HELP = "the task id, or a unique end of it (4+ characters, any case)";

/**
 * The full id of the task `id` names (a full id or a unique end of one); an unknown one is
 * refused as `what "<id>" does not exist`, which says which option named it.
 */
async function resolveAs(ledger: Ledger, id: string, what: string): Promise<string> {
  try {
    return await ledger.resolveTaskId(id);
  } catch (error) {
    if (error instanceof LedgerNotFound) {
      throw new LedgerNotFound(`${what} ${JSON.stringify(id)} does not exist`);
    }
    throw error;
  }
}

// What only the reading commands print with is imported inside them, so that `task add`, which
// agents call over and over, does not load it (see the `cli` benchmark).
const detailView = () => import("../task/detail.js");
const tableView = () => import("../task/table.js");
const styleOf = async (env: CommandEnv) =>
  (await import("../../text/style.js")).styleFor(env.stdout, env.env);

/**
 * The task the running agent was dispatched for, when this process runs inside a dispatch:
 * work it files becomes that task's child, as with the `insert_task` MCP tool.
 */
function dispatchedTaskId(env: NodeJS.ProcessEnv): string | null {
  return env.PRODUCER_TASK_ID?.trim() || null;
}

/**
 * `producer task add|list|show|requeue|kill|reroute|approve|deny|import`: the ledger by hand, for humans and
 * for agents that prefer a shell to MCP tools. Inside a dispatch (PRODUCER_TASK_ID and
 * PRODUCER_ROLE set) filed work is attributed to the dispatched task and its role.
 */
export function registerTask(program: Command, ctx: () => CommandEnv): void {
  const task = program.command("task").description("file, inspect and steer tasks in the ledger");

  task
    .command("add")
    .description("file a task for a role and print its id")
    .requiredOption("--agent <role>", "the role that will do it")
    .requiredOption("--title <text>", "one line saying what to do")
    .option("--description <text>", 'what done looks like ("-" reads it from stdin)')
    .option("--payload <json>", 'structured details, a JSON object like {"key": "value"}')
    .option("--priority <1-9>", "1 highest .. 9 lowest (default 5)")
    .option("--parent <id>", "the task this one belongs under (default: the dispatched task)")
    .option("--depends-on <ids>", "comma-separated ids (or unique ends of ids) to finish first")
    .option("--not-before <iso>", "not claimable before this ISO-8601 instant")
    .option("--approval", "wait for a human's approval (producer task approve) before dispatch")
    .option("--json", "print the new task as JSON instead of its id")
    .action(async (flags: AddFlags) => {
      const priority = parsePriority(flags.priority);
      const payload = parsePayload(flags.payload);
      const notBefore = parseInstant("--not-before", flags.notBefore);
      const dependsOn = parseIdList(flags.dependsOn);
      const env = ctx();
      const description =
        flags.description === "-"
          ? (await readStdin("the description", process.stdin, env.stderr)).replace(/[\r\n]+$/, "")
          : flags.description;
      const actor = cliActor(env.env);
      const created = await withProjectLedger(env, async (ledger) =>
        ledger.insertTask(
          {
            agentOwner: flags.agent,
            title: flags.title,
            description,
            payload,
            priority,
            // An explicit --parent (even "", a root task) wins over the dispatch's default.
            parentTaskId: flags.parent
              ? await resolveAs(ledger, flags.parent, "parent task")
              : (flags.parent ?? dispatchedTaskId(env.env)),
            dependsOn:
              dependsOn &&
              (await Promise.all(dependsOn.map((d) => resolveAs(ledger, d, "dependency")))),
            notBefore,
            createdBy: actor,
            ...(flags.approval ? { requiresApproval: true } : {}),
          },
          { actor },
        ),
      );
      env.stdout.write(flags.json ? json(created) : `${created.id}\n`);
    });

  task
    .command("list")
    .description("list tasks, newest first")
    .option("--status <statuses>", "only these statuses, comma-separated (e.g. failed,escalated)")
    .option("--agent <role>", "only this role's tasks")
    .option("--parent <id>", "only the children of this task")
    .option("--search <text>", "only tasks whose title or description contains this")
    .option("--limit <n>", "show at most this many", "50")
    .option("--all", "show every task that matches (no --limit)")
    .option("--json", "print the tasks as a JSON array")
    .action(async (flags: ListFlags) => {
      const status = parseStatuses(flags.status);
      // -1: the ledger's "no limit".
      const limit = flags.all ? -1 : parseLimit(flags.limit);
      const env = ctx();
      const filter = {
        status,
        role: flags.agent,
        parentTaskId: flags.parent,
        text: flags.search,
      };
      const { tasks, total } = await withProjectLedger(env, async (ledger, config) => {
        if (flags.agent !== undefined && !Object.hasOwn(config.agents, flags.agent)) {
          // A role removed from producer.yaml may still own tasks; only a name that matches
          // nothing at all is the typo the ledger's unknown-role message is for.
          if ((await ledger.countTasks({ role: flags.agent })) === 0) {
            requireRole("--agent", flags.agent, Object.keys(config.agents), suggest);
          }
        }
        if (flags.parent !== undefined)
          filter.parentTaskId = await ledger.resolveTaskId(flags.parent);
        const [tasks, total] = await Promise.all([
          ledger.listTasks({ ...filter, limit }),
          ledger.countTasks(filter),
        ]);
        return { tasks, total };
      });
      if (flags.json) {
        env.stdout.write(json(tasks));
        // The array is the data: a script must not take the first page for all of it.
        if (tasks.length < total) {
          env.stderr.write(
            `producer: listed ${tasks.length} of ${total} tasks; pass --all, or raise --limit\n`,
          );
        }
        return;
      }
      if (tasks.length === 0) {
        env.stdout.write(total === 0 && noFilter(flags) ? "no tasks yet\n" : "no tasks match\n");
        return;
      }
      const style = await styleOf(env);
      const width = (env.stdout as { isTTY?: boolean; columns?: number }).isTTY
        ? (env.stdout as { columns?: number }).columns
        : undefined;
      const lines = (await tableView()).renderTaskTable(tasks, style, width);
      if (tasks.length < total) {
        lines.push(
          style.dim(
            `${tasks.length} of ${total} tasks (--all, raise --limit or narrow the filter)`,
          ),
        );
      }
      env.stdout.write(`${lines.join("\n")}\n`);
    });

  task
    .command("show")
    .description("everything about one task: fields, attempts, decisions, assets, children, audit")
    .argument("<id>", ID_HELP)
    .option("--json", "print it as one JSON object")
    .action(async (id: string, flags: { json?: boolean }) => {
      const env = ctx();
      const { loadTaskDetail, renderTaskDetail } = await detailView();
      const detail = await withProjectLedger(env, async (ledger, config) =>
        loadTaskDetail(ledger, await ledger.resolveTaskId(id), config.agentStateDir),
      );
      env.stdout.write(flags.json ? json(detail) : renderTaskDetail(detail, await styleOf(env)));
    });

  task
    .command("requeue")
    .description("put a failed, escalated or killed task back to pending, with fresh retries")
    .argument("<id>", ID_HELP)
    .option("--reason <text>", "why (kept in the audit log)")
    .action(async (id: string, flags: { reason?: string }) => {
      const env = ctx();
      const actor = cliActor(env.env);
      const t = await withProjectLedger(env, async (ledger) =>
        ledger.requeue(await ledger.resolveTaskId(id), { actor, reason: flags.reason }),
      );
      env.stdout.write(`requeued ${t.id} (${t.agentOwner}): pending again, with fresh retries\n`);
    });

  task
    .command("kill")
    .description(
      "stop a task for good (awaiting approval, pending, in progress, failed or escalated)",
    )
    .argument("<id>", ID_HELP)
    .option("--reason <text>", "why (kept on the task and in the audit log)")
    .action(async (id: string, flags: { reason?: string }) => {
      const env = ctx();
      const actor = cliActor(env.env);
      const t = await withProjectLedger(env, async (ledger) =>
        ledger.kill(await ledger.resolveTaskId(id), { actor, reason: flags.reason }),
      );
      env.stdout.write(
        `killed ${t.id} (${t.agentOwner})${flags.reason?.trim() ? `: ${flags.reason.trim()}` : ""}\n`,
      );
    });

  task
    .command("reroute")
    .description("give a task awaiting approval, pending, failed or escalated to another role")
    .argument("<id>", ID_HELP)
    .argument("<role>", "the role to give it to")
    .option("--reason <text>", "why (kept in the audit log)")
    .action(async (id: string, role: string, flags: { reason?: string }) => {
      const env = ctx();
      const actor = cliActor(env.env);
      const { before, after } = await withProjectLedger(env, async (ledger) => {
        const full = await ledger.resolveTaskId(id);
        const before = await ledger.getTask(full);
        const after = await ledger.reroute(full, role, { actor, reason: flags.reason });
        return { before, after };
      });
      env.stdout.write(
        `rerouted ${after.id} from ${before?.agentOwner ?? "?"} to ${after.agentOwner}: pending\n`,
      );
    });

  registerApproval(task, ctx, ID_HELP);

  task
    .command("import")
    .description("file every task of a seed file (JSON) in one go: all of them or none")
    .argument("<file>", 'the seed file ("-" reads it from stdin)')
    .option("--json", "print the filed tasks as JSON")
    .action(async (file: string, flags: { json?: boolean }) => {
      // "" would resolve to the current folder and be refused as "a folder": say what is wrong.
      if (file.trim() === "") throw new UsageError('give the seed file\'s path, or "-" for stdin');
      const env = ctx();
      // Loaded here: the seed file's schema is zod, which `task add` and the rest never need.
      const { parseSeedText, readSeedFile, seedProblems, toNewTasks } = await import(
        "../../seed/seed-file.js"
      );
      const seed =
        file === "-"
          ? parseSeedText(await readStdin("the seed file", process.stdin, env.stderr), "stdin")
          : readSeedFile(resolve(env.cwd, file), file);
      const actor = cliActor(env.env);
      const shownAs = file === "-" ? "stdin" : file;
      const created = await withProjectLedger(env, async (ledger, config) => {
        const problems = seedProblems(seed, Object.keys(config.agents));
        if (problems.length === 1) {
          throw new LedgerError(`${shownAs}: ${problems[0]}; nothing was imported`);
        }
        if (problems.length > 1) {
          throw new LedgerError(
            `${shownAs} has ${problems.length} problems; nothing was imported:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
          );
        }
        try {
          return await ledger.insertTasks(
            toNewTasks(seed, { createdBy: actor, defaultParent: dispatchedTaskId(env.env) }),
            { actor },
          );
        } catch (error) {
          // The ledger already names the entry and the problem; say that nothing was filed.
          if (error instanceof LedgerError) {
            throw new LedgerError(
              `${file === "-" ? "stdin" : file}: ${error.message}; nothing was imported`,
              { cause: error, code: error.code },
            );
          }
          throw error;
        }
      });
      if (flags.json) {
        const refs: Record<string, string> = {};
        seed.forEach((s, i) => {
          if (s.ref) refs[s.ref] = created[i]!.id;
        });
        env.stdout.write(json({ imported: created.length, refs, tasks: created }));
        return;
      }
      env.stdout.write(`imported ${created.length} task${created.length === 1 ? "" : "s"}\n`);
    });
}

function noFilter(flags: ListFlags): boolean {
  return (
    flags.status === undefined &&
    flags.agent === undefined &&
    flags.parent === undefined &&
    flags.search === undefined
  );
}
