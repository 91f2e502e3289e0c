import type { Command } from "commander";
import { asError, UsageError } from "../../errors.js";
import type { AttentionItem } from "../../ledger/attention.js";
import { needsAttentionPath, rewriteAttentionFile } from "../../notify/attention-file.js";
import { styleFor } from "../../text/style.js";
import { type CommandEnv, cliActor, refuseInsideDispatch, withProjectLedger } from "../context.js";
import { renderTable } from "../task/table.js";

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** The first line of a message, cut to fit a table. */
function firstLine(message: string): string {
  const line = message.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

function renderItems(items: readonly AttentionItem[], all: boolean, env: CommandEnv): string {
  if (items.length === 0) {
    return all ? "no attention items yet\n" : "nothing needs attention\n";
  }
  const style = styleFor(env.stdout, env.env);
  const columns = [{ header: "ID" }, { header: "TIME" }, { header: "TITLE" }];
  if (all) columns.push({ header: "STATE" });
  columns.push({ header: "FIRST LINE" });
  const rows = items.map((item) => {
    const row = [item.id, item.createdAt, item.title];
    if (all) row.push(item.resolvedAt ? `resolved by ${item.resolvedBy}` : "open");
    row.push(firstLine(item.message));
    return row;
  });
  return `${renderTable(columns, rows, style).join("\n")}\n`;
}

/**
 * `producer attention [list] [--all] [--json]` and `producer attention resolve ID... | --all`:
 * the notices that need a human, each open until resolved. needs-attention.md is rewritten
 * from the open ones after every change.
 */
export function registerAttention(program: Command, ctx: () => CommandEnv): void {
  const attention = program
    .command("attention")
    .description("list and resolve what needs a human (needs-attention.md)");

  attention
    .command("list", { isDefault: true })
    .description("list open attention items, newest first (the default)")
    .option("--all", "include resolved items")
    .option("--json", "print the items as JSON")
    .action(async (flags: { all?: boolean; json?: boolean }) => {
      const env = ctx();
      const items = await withProjectLedger(env, (ledger) =>
        ledger.listAttention({ all: Boolean(flags.all) }),
      );
      env.stdout.write(flags.json ? json(items) : renderItems(items, Boolean(flags.all), env));
    });

  attention
    .command("resolve")
    .description("resolve attention items by id (or a unique suffix of 4+ characters), or --all")
    .argument("[ids...]", "the items' ids, as `producer attention` lists them")
    .option("--all", "resolve every open item")
    .option("--note <text>", "why, or what was done (kept on the item and in the audit log)")
    .option("--json", "print the resolved items as JSON")
    .action(async (ids: string[], flags: { all?: boolean; note?: string; json?: boolean }) => {
      if (flags.all && ids.length > 0) {
        throw new UsageError("give attention ids or --all, not both");
      }
      if (!flags.all && ids.length === 0) {
        throw new UsageError(
          "name the items to resolve: producer attention resolve ID... (or --all for every open one)",
        );
      }
      const env = ctx();
      refuseInsideDispatch(
        env.env,
        "producer attention resolve",
        "attention items are for a human to resolve",
      );
      const actor = cliActor(env.env);
      const { resolved, fileError, file } = await withProjectLedger(env, async (ledger, config) => {
        const resolved = await ledger.resolveAttention(flags.all ? { all: true } : { ids }, {
          actor,
          note: flags.note,
        });
        let fileError: string | null = null;
        try {
          await rewriteAttentionFile(config, ledger);
        } catch (error) {
          fileError = asError(error).message;
        }
        return { resolved, fileError, file: needsAttentionPath(config) };
      });
      if (fileError !== null) {
        // The ledger holds the change; only its rendering is behind.
        env.stderr.write(`producer: resolved, but could not rewrite ${file}: ${fileError}\n`);
        env.setExitCode(1);
      }
      if (flags.json) {
        env.stdout.write(json(resolved));
        return;
      }
      env.stdout.write(
        resolved.length === 0
          ? "nothing was open\n"
          : `resolved ${resolved.length} attention item${resolved.length === 1 ? "" : "s"}: ${resolved.map((r) => r.id).join(", ")}\n`,
      );
    });
}
