import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { ProducerConfig } from "../config/types.js";
import type { AttentionItem } from "../ledger/attention.js";
import type { Ledger } from "../ledger/ledger.js";
import { quoted } from "../text/markdown.js";

/** The file a human (or an agent) reads to see what needs a human. */
export function needsAttentionPath(config: Pick<ProducerConfig, "agentStateDir">): string {
  return join(config.agentStateDir, "needs-attention.md");
}

/** The most items the file lists; the rest are named by count, and `producer attention` has them. */
export const ATTENTION_FILE_LIMIT = 100;

/**
 * needs-attention.md for these open items (newest first): a heading per item carrying its id,
 * its message quoted so agent-written text cannot start a section of its own. `more` says
 * that open items beyond these exist.
 */
export function renderAttentionFile(
  projectName: string,
  items: readonly AttentionItem[],
  more: boolean,
): string {
  const count = `${items.length}${more ? "+" : ""} open item${items.length === 1 && !more ? "" : "s"}`;
  const sections = items.map(
    (item) =>
      `## ${item.id} · ${item.createdAt} · ${item.title.replace(/\s+/g, " ")}\n\n${quoted(item.message)}\n`,
  );
  const tail = more
    ? `\nOlder open items are not shown here: \`producer attention\` lists them all.\n`
    : "";
  return `# ${projectName}: needs attention\n\n${count}, newest first. This file is rewritten from the ledger: resolve an item with \`producer attention resolve <id>\` (or "Mark as read" on the dashboard) and it goes.\n\n${sections.join("\n")}${tail}`;
}

/**
 * Rewrites needs-attention.md from the ledger's open items, atomically (a temporary file
 * renamed over it, so a reader never sees half a file), or removes it when nothing is open.
 * Throws when the ledger cannot be read or the file cannot be written.
 */
export async function rewriteAttentionFile(
  config: Pick<ProducerConfig, "agentStateDir" | "projectName">,
  ledger: Pick<Ledger, "listAttention">,
): Promise<void> {
  const file = needsAttentionPath(config);
  const items = await ledger.listAttention({ limit: ATTENTION_FILE_LIMIT + 1 });
  if (items.length === 0) {
    rmSync(file, { force: true });
    return;
  }
  const shown = items.slice(0, ATTENTION_FILE_LIMIT);
  mkdirSync(dirname(file), { recursive: true });
  const temp = join(
    dirname(file),
    `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  try {
    writeFileSync(
      temp,
      renderAttentionFile(config.projectName, shown, items.length > ATTENTION_FILE_LIMIT),
    );
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
