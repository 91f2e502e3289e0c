// A tiny markdown renderer for the morning report: headings, paragraphs, block quotes,
// lists (nested by indent), tables, fenced code, `code` and **bold**. It builds DOM nodes
// from text; nothing in the file is ever interpreted as HTML.

import { h } from "./dom.js";

/**
 * @param {string} source
 * @returns {DocumentFragment}
 */
export function renderMarkdown(source) {
  const out = document.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  /** @type {string[]} */
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) out.append(h("p", {}, inline(paragraph.join(" "))));
    paragraph = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^```/.exec(line);
    if (fence) {
      flush();
      const code = [];
      i++;
      while (i < lines.length && !/^```/.test(lines[i])) code.push(lines[i++]);
      i++;
      out.append(h("pre", {}, h("code", {}, code.join("\n"))));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      out.append(h(`h${heading[1].length}`, {}, inline(heading[2])));
      i++;
      continue;
    }
    if (line.startsWith("|") && /^\|?\s*:?-{3,}/.test(lines[i + 1] ?? "")) {
      flush();
      const head = cells(line);
      i += 2;
      const rows = [];
      while (i < lines.length && lines[i].startsWith("|")) rows.push(cells(lines[i++]));
      out.append(
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                head.map((c) => h("th", {}, inline(c))),
              ),
            ),
            h(
              "tbody",
              {},
              rows.map((r) =>
                h(
                  "tr",
                  {},
                  r.map((c) => h("td", {}, inline(c))),
                ),
              ),
            ),
          ),
        ),
      );
      continue;
    }
    if (line.startsWith(">")) {
      flush();
      const quoted = [];
      while (i < lines.length && lines[i].startsWith(">"))
        quoted.push(lines[i++].replace(/^>\s?/, ""));
      out.append(h("blockquote", {}, inline(quoted.join(" "))));
      continue;
    }
    if (/^\s*[-*]\s+/.test(line)) {
      flush();
      const items = [];
      while (i < lines.length && /^\s*[-*]\s+/.test(lines[i])) {
        const match = /^(\s*)[-*]\s+(.*)$/.exec(lines[i++]);
        items.push({ indent: match[1].length, text: match[2] });
      }
      out.append(list(items));
      continue;
    }
    if (line.trim() === "") flush();
    else paragraph.push(line.trim());
    i++;
  }
  flush();
  return out;
}

/** Nests items by indentation. @param {{indent: number, text: string}[]} items */
function list(items) {
  const root = h("ul");
  /** @type {{ indent: number, ul: HTMLElement }[]} */
  const stack = [{ indent: items[0]?.indent ?? 0, ul: root }];
  for (const item of items) {
    while (stack.length > 1 && item.indent < stack[stack.length - 1].indent) stack.pop();
    let top = stack[stack.length - 1];
    if (item.indent > top.indent && top.ul.lastElementChild) {
      const nested = h("ul");
      top.ul.lastElementChild.append(nested);
      top = { indent: item.indent, ul: nested };
      stack.push(top);
    }
    top.ul.append(h("li", {}, inline(item.text)));
  }
  return root;
}

/** A table row's cells; `\|` is a literal bar. @param {string} row */
function cells(row) {
  const inner = row
    .trim()
    .replace(/^\|/, "")
    .replace(/(?<!\\)\|$/, "");
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replaceAll("\\|", "|"));
}

/** `code` and **bold** inside a line; the rest is text. @param {string} text */
function inline(text) {
  const parts = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(match[1] !== undefined ? h("code", {}, match[1]) : h("strong", {}, match[2]));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}
