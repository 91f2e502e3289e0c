import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { type CommandEnv, cliActor, withProjectLedger } from "../context.js";

interface RecordFlags {
  task?: string;
  role?: string;
  kind?: string;
  json?: boolean;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * Who a record belongs to: inside a dispatch, its task and role (the ledger holds a
 * dispatched agent to them whatever it passes); outside, what the flags say.
 */
function owner(
  env: NodeJS.ProcessEnv,
  flags: RecordFlags,
): { taskId: string | null; role: string } {
  const role = flags.role ?? env.PRODUCER_ROLE?.trim();
  if (!role) {
    throw new UsageError("--role is required outside a dispatched agent: say whose record it is");
  }
  return { taskId: flags.task ?? env.PRODUCER_TASK_ID?.trim() ?? null, role };
}

/**
 * `producer decision add` and `producer asset add`: what the `record_decision` and
 * `register_asset` ledger tools do, for agents written in any language (a shell script, a
 * Python program) and for humans. Attributed like `task add`.
 */
export function registerRecords(program: Command, ctx: () => CommandEnv): void {
  program
    .command("decision")
    .description("record decisions in the ledger")
    .command("add")
    .description("record a decision and why it was taken; print its id")
    .argument("<text>", "what was decided, one line")
    .option("--rationale <text>", "why")
    .option("--kind <kind>", "a word that groups decisions (default: decision)")
    .option(
      "--task <id>",
      "the task it belongs to, by id or a unique end of it (default: the dispatched task)",
    )
    .option("--role <role>", "whose decision it is (default: the dispatched role)")
    .option("--json", "print the decision as JSON instead of its id")
    .action(async (text: string, flags: RecordFlags & { rationale?: string }) => {
      const env = ctx();
      const { taskId, role } = owner(env.env, flags);
      const actor = cliActor(env.env);
      const decision = await withProjectLedger(env, async (ledger) =>
        ledger.recordDecision(
          {
            taskId: flags.task ? await ledger.resolveTaskId(flags.task) : taskId,
            agentOwner: role,
            kind: flags.kind,
            decisionText: text,
            rationale: flags.rationale,
          },
          { actor },
        ),
      );
      env.stdout.write(flags.json ? json(decision) : `${decision.id}\n`);
    });

  program
    .command("asset")
    .description("register files in the ledger")
    .command("add")
    .description("register a file an agent produced; print its id")
    .argument("<path>", "the file, inside the project")
    .option("--kind <kind>", "what it is: code, spec, image, test-report, ...")
    .option("--description <text>", "one line about it")
    .option(
      "--task <id>",
      "the task it belongs to, by id or a unique end of it (default: the dispatched task)",
    )
    .option("--role <role>", "whose file it is (default: the dispatched role)")
    .option("--json", "print the asset as JSON instead of its id")
    .action(async (path: string, flags: RecordFlags & { description?: string }) => {
      const env = ctx();
      const { taskId, role } = owner(env.env, flags);
      const actor = cliActor(env.env);
      const asset = await withProjectLedger(env, async (ledger) =>
        ledger.registerAsset(
          {
            taskId: flags.task ? await ledger.resolveTaskId(flags.task) : taskId,
            agentOwner: role,
            path,
            kind: flags.kind,
            description: flags.description,
          },
          { actor },
        ),
      );
      env.stdout.write(flags.json ? json(asset) : `${asset.id}\n`);
    });
}
