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
});
