// The source tree's imports point one way: from the commands down to the ledger, then to the
// config, with small shared helpers at the bottom. A new import that points up, or a new top
// folder nobody placed, fails here.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "..", "src");

/** Top folders (and root files) by layer, highest first. A layer may import its own and lower. */
const LAYERS: readonly (readonly string[])[] = [
  ["index", "cli"],
  ["web", "producer", "demo", "init", "metrics"],
  ["runtimes", "budget", "notify", "report", "killswitch", "pricing", "attempts", "seed"],
  ["ledger"],
  ["config"],
  ["clock", "errors", "text", "identity", "secrets", "package-files"],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** `cli` for src/cli/main.ts, `clock` for src/clock.ts. */
function topOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.(ts|js)$/, "");
}

/** Every relative import of every source file, static or dynamic, type-only included. */
function imports(): { from: string; to: string; spec: string }[] {
  const found: { from: string; to: string; spec: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/(?:\bfrom|\bimport\()\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = resolve(dirname(file), match[1]!);
      found.push({ from: file, to: target, spec: match[1]! });
    }
  }
  return found;
}

const layerOf = new Map(LAYERS.flatMap((names, layer) => names.map((n) => [n, layer] as const)));

describe("the import map", () => {
  it("places every top folder in a layer, and every import lands in one", () => {
    const tops = new Set(sourceFiles(SRC).map(topOf));
    expect([...tops].filter((t) => !layerOf.has(t)).sort()).toEqual([]);
    const astray = imports()
      .filter(({ to }) => !layerOf.has(topOf(to)))
      .map(({ from, spec }) => `${relative(SRC, from)} imports ${spec}`);
    expect(astray).toEqual([]);
  });

  it("has no import that points to a higher layer", () => {
    const upward = imports()
      .filter(({ from, to }) => layerOf.get(topOf(to))! < layerOf.get(topOf(from))!)
      .map(({ from, spec }) => `${relative(SRC, from)} imports ${spec}`);
    expect(upward).toEqual([]);
  });

  it("has no cycle between top folders", () => {
    const edges = new Map<string, Set<string>>();
    for (const { from, to } of imports()) {
      const [a, b] = [topOf(from), topOf(to)];
      if (a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
    }
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      for (const next of edges.get(node) ?? []) {
        if (path.includes(next))
          cycles.push([...path.slice(path.indexOf(next)), next].join(" -> "));
        else visit(next, [...path, next]);
      }
    };
    for (const start of edges.keys()) visit(start, [start]);
    expect(cycles).toEqual([]);
  });

  it("keeps better-sqlite3 inside the SQLite backend, reached only through the factory", () => {
    const backend = join(SRC, "ledger", "sqlite");
    const inside = (file: string) => file.startsWith(`${backend}${sep}`);
    const naming = sourceFiles(SRC).filter(
      (file) =>
        !inside(file) &&
        /better-sqlite3|\bSqlite[A-Z]\w*|\bSyncMode\b/.test(readFileSync(file, "utf8")),
    );
    expect(naming.map((f) => relative(SRC, f))).toEqual([]);
    const into = imports()
      .filter(({ from, to }) => inside(to) && !inside(from))
      .map(({ from, spec }) => `${relative(SRC, from)} imports ${spec}`);
    // The factory picks the backend; every other module sees the Storage port only.
    expect(into).toEqual(["ledger/open.ts imports ./sqlite/index.js"]);
  });

  it("keeps the postgres driver inside the PostgreSQL backend, reached only through the factory", () => {
    const backend = join(SRC, "ledger", "postgres");
    const inside = (file: string) => file.startsWith(`${backend}${sep}`);
    const naming = sourceFiles(SRC).filter(
      (file) =>
        !inside(file) &&
        /from ["']postgres["']|\bPostgresStorage\b/.test(readFileSync(file, "utf8")),
    );
    expect(naming.map((f) => relative(SRC, f))).toEqual([]);
    const into = imports()
      .filter(({ from, to }) => inside(to) && !inside(from))
      .map(({ from, spec }) => `${relative(SRC, from)} imports ${spec}`);
    expect(into).toEqual(["ledger/open.ts imports ./postgres/index.js"]);
  });

  it("gives the public API no type that names the SQLite backend", () => {
    // Everything index.ts reaches through static imports (types included) is its public
    // surface; a dynamic import() is where a backend is loaded at run time, not named.
    const seen = new Set<string>();
    const queue = [join(SRC, "index.ts")];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(/\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g)) {
        queue.push(resolve(dirname(file), match[1]!).replace(/\.js$/, ".ts"));
      }
    }
    const reached = [...seen].map((f) => relative(SRC, f));
    expect(reached.filter((f) => f.startsWith(`ledger${sep}sqlite`))).toEqual([]);
    expect(reached.filter((f) => f.startsWith(`ledger${sep}postgres`))).toEqual([]);
    const index = readFileSync(join(SRC, "index.ts"), "utf8");
    for (const name of ["SyncMode", "AuditLogger", "processIdentity", "Database", "dbPath"]) {
      expect(index).not.toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it("can fail: an upward import is named", () => {
    // The check itself, on a made-up edge: the ledger importing the Producer.
    const from = join(SRC, "ledger", "client.ts");
    const to = join(SRC, "producer", "producer.ts");
    expect(layerOf.get(topOf(to))! < layerOf.get(topOf(from))!).toBe(true);
  });
});
