import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { unquoted } from "../text/markdown.js";

/** One note of needs-attention.md, as the notifier writes it (`## <time> · <title>`). */
export interface AttentionEntry {
  at: string | null;
  title: string;
  message: string;
}

/** The needs-attention file at a glance: its newest notes first. */
export interface AttentionSummary {
  path: string;
  /** Notes found (in the part of the file read). */
  total: number;
  entries: AttentionEntry[];
}

// The file only grows until a human deletes it; the newest notes are at its end.
const TAIL_BYTES = 128 * 1024;

/** Reads the newest `limit` notes of needs-attention.md; null when the file is absent. */
export function readAttention(path: string, limit = 5): AttentionSummary | null {
  let text: string;
  try {
    text = readTail(path, TAIL_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const sections = text.split(/^## /m).slice(1);
  const entries = sections.map((section): AttentionEntry => {
    const newline = section.indexOf("\n");
    const heading = (newline === -1 ? section : section.slice(0, newline)).trim();
    const message = newline === -1 ? "" : unquoted(section.slice(newline + 1).trim());
    const [at, ...title] = heading.split(" · ");
    return title.length > 0
      ? { at: at ?? null, title: title.join(" · "), message }
      : { at: null, title: heading, message };
  });
  if (entries.length === 0 && text.trim() !== "") {
    // Written by hand, not by the notifier: show it as one note rather than nothing.
    entries.push({ at: null, title: "needs attention", message: text.trim().slice(-2000) });
  }
  return { path, total: entries.length, entries: entries.slice(-limit).reverse() };
}

function readTail(path: string, maxBytes: number): string {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString("utf8");
    // A cut file starts mid-line (maybe mid-character): drop that partial first line.
    return length < size ? text.slice(text.indexOf("\n") + 1) : text;
  } finally {
    closeSync(fd);
  }
}
