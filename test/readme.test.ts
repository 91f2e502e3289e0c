// The README's library example is run as written, so it cannot drift from the API.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");

describe("README", () => {
  it("has a library example that runs against the built package", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block =
      /<!-- readme-example:start -->\n```js\n([\s\S]*?)```\n<!-- readme-example:end -->/.exec(
        readme,
      );
    expect(block).not.toBeNull();
    // Inside the package folder, `import "ai-producer"` resolves to the package itself.
    const file = join(ROOT, `readme-example-${process.pid}.mjs`);
    writeFileSync(file, block![1]!);
    try {
      const out = execFileSync(process.execPath, [file], { encoding: "utf8" });
      expect(out.trim()).toBe("4 tasks, audit chain ok: true");
    } finally {
      rmSync(file, { force: true });
    }
  });

  it("quick start uses the scripts that exist", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(readme).toContain("npm ci && npm run demo");
    expect(pkg.scripts.demo).toBeDefined();
    expect(pkg.scripts.test).toBeDefined();
  });

  it("draws the mental model with borders that line up", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Mental model"));
    const diagram = /```\n([\s\S]*?)```/.exec(section)![1]!;
    // Every character of the drawing is one column wide, so columns are string indexes.
    const rows = diagram.split("\n").map((line) => [...line]);
    const at = (r: number, c: number) => rows[r]?.[c] ?? " ";
    const boxes = boxesIn(rows);
    expect(boxes.length).toBe(3);
    for (const { top, left, right } of boxes) {
      let r = top + 1;
      for (; at(r, left) !== "└"; r++) {
        expect(r, `the box at row ${top} has a bottom-left corner below it`).toBeLessThan(
          rows.length,
        );
        expect("│├┤", `left border of the box at row ${top}, row ${r}`).toContain(at(r, left));
        expect("│├┤", `right border of the box at row ${top}, row ${r}`).toContain(at(r, right));
      }
      expect(at(r, right), `bottom-right corner of the box at row ${top}`).toBe("┘");
      for (let c = left + 1; c < right; c++) {
        expect("─┬┴▲▼", `top border at column ${c}`).toContain(at(top, c));
        expect("─┬┴▲▼", `bottom border at column ${c}`).toContain(at(r, c));
      }
    }
  });

  it("quotes the troubleshooting messages as the code writes them", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Troubleshooting"), readme.indexOf("## Limits"));
    const code = ["src/runtimes/claude/call-watch.ts", "src/ledger/sqlite/database.ts"].map(
      (file) => readFileSync(join(ROOT, file), "utf8"),
    );
    for (const text of [
      "could not reach the Anthropic API at",
      "check the network and ANTHROPIC_BASE_URL",
      "the SQLite driver better-sqlite3 cannot load its compiled part on Node.js",
      "npm rebuild better-sqlite3",
    ]) {
      expect(section, `README quotes: ${text}`).toContain(text);
      expect(
        code.some((source) => source.includes(text)),
        `the code writes: ${text}`,
      ).toBe(true);
    }
    for (const problem of [
      "No API key",
      "No network",
      "better-sqlite3",
      "cannot find `producer`",
    ]) {
      expect(section).toContain(problem);
    }
  });
});

/** Each box's top row and left and right columns, found from its top-left corner. */
function boxesIn(rows: string[][]): { top: number; left: number; right: number }[] {
  const boxes: { top: number; left: number; right: number }[] = [];
  rows.forEach((row, top) => {
    row.forEach((ch, left) => {
      if (ch === "┌") boxes.push({ top, left, right: row.indexOf("┐", left) });
    });
  });
  return boxes;
}
