/** Plain-text tables and task formatting shared by `producer task` and `producer status`. */
import type { Task, TaskStatus } from "../../ledger/types.js";
import type { Style } from "../../text/style.js";

/** One column: its header and which side its cells line up on. */
export interface Column {
  header: string;
  align?: "left" | "right";
}

/** A cell: its text, and optionally a colour applied after padding (widths ignore colour). */
export type Cell = string | { text: string; paint: (text: string) => string };

const textOf = (cell: Cell): string => (typeof cell === "string" ? cell : cell.text);

/**
 * Lines of an aligned table, header first (bold). Widths come from the plain text, so colour
 * codes never skew the columns; the last column is not padded, so lines carry no trailing
 * blanks.
 */
export function renderTable(columns: readonly Column[], rows: readonly Cell[][], style: Style) {
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...rows.map((r) => textOf(r[i] ?? "").length)),
  );
  const line = (cells: readonly Cell[], header: boolean) =>
    cells
      .map((cell, i) => {
        const text = textOf(cell);
        const last = i === cells.length - 1;
        const gap = " ".repeat(Math.max(0, widths[i]! - text.length));
        const padded =
          columns[i]?.align === "right" ? `${gap}${text}` : last ? text : `${text}${gap}`;
        if (text === "") return padded;
        if (header) return style.bold(padded);
        return typeof cell === "string" ? padded : padded.replace(text, cell.paint(text));
      })
      .join("  ")
      // An empty last cell would leave the separator dangling.
      .trimEnd();
  return [
    line(
      columns.map((c) => c.header),
      true,
    ),
    ...rows.map((r) => line(r, false)),
  ];
}

/** A task's cost, precise enough for single cheap calls. */
export function taskUsd(n: number): string {
  return `$${n.toFixed(4)}`;
}

/** A budget amount, the way the morning report shows it. */
export function usd(n: number): string {
  return `$${n.toFixed(2)}`;
}

/** A status cell coloured by how much it needs a human. */
export function statusCell(status: TaskStatus, style: Style): Cell {
  const paint =
    status === "done"
      ? style.green
      : status === "failed" || status === "escalated"
        ? style.red
        : status === "in_progress"
          ? style.cyan
          : status === "killed"
            ? style.dim
            : (s: string) => s;
  return { text: status, paint };
}

/** Shortens to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  if (max < 2 || text.length <= max) return text;
  return `${text.slice(0, max - 1)}…`;
}

/**
 * The `producer task list` table: id, status, role, priority, attempts, cost, title. The title
 * goes last so that long ones do not push the other columns apart; it is clipped to `width`
 * when output goes to a terminal of known width.
 */
export function renderTaskTable(tasks: readonly Task[], style: Style, width?: number): string[] {
  const columns: Column[] = [
    { header: "ID" },
    { header: "STATUS" },
    { header: "ROLE" },
    { header: "P", align: "right" },
    { header: "TRIES", align: "right" },
    { header: "COST", align: "right" },
    { header: "TITLE" },
  ];
  const rows: Cell[][] = tasks.map((t) => [
    t.id,
    statusCell(t.status, style),
    t.agentOwner,
    String(t.priority),
    String(t.attempts),
    taskUsd(t.costUsd),
    t.title,
  ]);
  if (width !== undefined) {
    let fixed = 0;
    for (let i = 0; i < columns.length - 1; i++) {
      fixed += Math.max(columns[i]!.header.length, ...rows.map((r) => textOf(r[i]!).length)) + 2;
    }
    // Never clip below a readable stub, even on a very narrow terminal.
    const room = Math.max(20, width - fixed - 1);
    for (const row of rows) row[6] = clip(textOf(row[6]!), room);
  }
  return renderTable(columns, rows, style);
}
