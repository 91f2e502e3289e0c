/**
 * Agent-written text inside the markdown files a human reads (escalations, needs-attention):
 * it must not be able to forge their structure, such as a "What you can do" section that
 * tells the reader to run something.
 */

/** `text` as a fenced code block whose fence no run of backticks inside it can close. */
export function fenced(text: string, language = ""): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text.replace(/\n+$/, "")}\n${fence}`;
}

/** `text` as a block quote: every line, blank ones too, stays inside the quote. */
export function quoted(text: string): string {
  return text
    .replace(/\n+$/, "")
    .split("\n")
    .map((line) => (line === "" ? ">" : `> ${line}`))
    .join("\n");
}

/** The text of a block quote written by {@link quoted}; lines outside the quote are kept. */
export function unquoted(text: string): string {
  return text
    .split("\n")
    .map((line) => (line === ">" ? "" : line.startsWith("> ") ? line.slice(2) : line))
    .join("\n");
}
