// The audit chain's hashes must come out the same whatever driver read the row: a bigint as
// text, a timestamp as a Date, a REAL that holds a whole number. These pin the canonical
// forms; changing one breaks every chain already written.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalWith, digestOf, rowHash } from "../src/ledger/audit/canonical.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

// biome-ignore format: one column per line reads best against the pinned text below.
const TASK_AS_SQLITE_READS_IT = [
  "01TASK", "code", "Build it", "", "{\"a\":1}", 3, "pending", 0, null, "[]",
  0.5, null, 10, 20, 0, 0, null, null, "cli",
];
const TASK_CANONICAL =
  '["01TASK","code","Build it","","{\\"a\\":1}",3,"pending",0,null,"[]",0.5,null,10,20,0,0,null,null,"cli"]';

describe("canonical audit hashing", () => {
  it("pins the digest of a task row", () => {
    expect(digestOf("task", TASK_AS_SQLITE_READS_IT)).toBe(sha256(TASK_CANONICAL));
  });

  it("hashes a row the same when a driver returns numbers as text", () => {
    const asServerDriverReadsIt = TASK_AS_SQLITE_READS_IT.map((v) =>
      typeof v === "number" ? String(v) : v,
    );
    expect(digestOf("task", asServerDriverReadsIt)).toBe(sha256(TASK_CANONICAL));
    expect(
      digestOf(
        "task",
        asServerDriverReadsIt.map((v, i) => (i === 10 ? 0.5 : v)),
      ),
    ).toBe(sha256(TASK_CANONICAL));
  });

  it("writes timestamps as ISO text whether the driver gives text or a Date", () => {
    const at = "2026-05-06T09:00:00.000Z";
    const decision = ["01D", null, "design", "note", "Chose tabs", "", at];
    const canonical = `["01D",null,"design","note","Chose tabs","","${at}"]`;
    expect(digestOf("decision", decision)).toBe(sha256(canonical));
    expect(
      digestOf(
        "decision",
        decision.map((v) => (v === at ? new Date(at) : v)),
      ),
    ).toBe(sha256(canonical));
  });

  it("pins a row hash, with its sequence number as a number whatever the driver gave", () => {
    const fields = {
      ts: "2026-05-06T09:00:00.000Z",
      actor: "cli",
      action: "task.created",
      entityType: "task",
      entityId: "01TASK",
      details: '{"role":"code"}',
    };
    const prev = "0".repeat(64);
    const pinned = sha256(
      `${prev}[7,"2026-05-06T09:00:00.000Z","cli","task.created","task","01TASK","{\\"role\\":\\"code\\"}"]`,
    );
    expect(rowHash(prev, { seq: 7, ...fields })).toBe(pinned);
    expect(rowHash(prev, { seq: "7", ...fields })).toBe(pinned);
  });

  it("can fail: a changed value changes the digest", () => {
    const edited = TASK_AS_SQLITE_READS_IT.map((v, i) => (i === 10 ? 0.25 : v));
    expect(digestOf("task", edited)).not.toBe(sha256(TASK_CANONICAL));
  });
});

describe("canonical JSON written straight out", () => {
  // What the text must equal: the sorted copy, serialised (the definition the chain uses).
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) {
        const member = (value as Record<string, unknown>)[key];
        if (member !== undefined) out[key] = sorted(member);
      }
      return out;
    }
    return value;
  };
  const reference = (value: unknown) => JSON.stringify(sorted(value));

  class Labelled {
    b = 2;
    a = "x";
  }
  const cases: Record<string, unknown> = {
    flat: { role: "code", title: 'say "hi"\n', priority: 5, parent_task_id: null, ok: true },
    "arrays of primitives": { depends_on: ["01A", "01B"], none: [], mixed: [1, "a", null, false] },
    "undefined members dropped": { a: undefined, b: 1 },
    "non-finite numbers": { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, neg: -0, big: 1e21 },
    "keys needing escapes and order by code unit": { é: 1, Z: 2, a: 3, 'q"uote': 4, "\u0001": 5 },
    nested: { outer: { z: 1, a: [{ y: 2, b: 1 }] } },
    "array holding undefined": { list: [1, undefined, 2] },
    "a Date member": { at: new Date("2026-05-06T09:00:00.000Z") },
    "a class instance": new Labelled(),
    "a class instance member": { inner: new Labelled() },
    "a function member": { f: () => 1, g: 1 },
    "a __proto__ member": JSON.parse('{"__proto__": {"x": 1}, "a": 1}'),
    empty: {},
    "an array": [3, { b: 1, a: 2 }],
    "a string": "plain",
    null: null,
  };

  for (const [name, value] of Object.entries(cases)) {
    it(`matches the sorted copy: ${name}`, () => {
      expect(canonicalJson(value)).toBe(reference(value));
    });
  }

  it("adds a member in its sorted place, replacing one of the same name", () => {
    const details = { role: "code", attempt: 1, title: "t" };
    expect(canonicalWith(details, "digest", "abc")).toBe(reference({ ...details, digest: "abc" }));
    expect(canonicalWith({ digest: "old", a: 1 }, "digest", "new")).toBe('{"a":1,"digest":"new"}');
    expect(canonicalWith({ nested: { b: 1, a: 2 } }, "digest", "d")).toBe(
      '{"digest":"d","nested":{"a":2,"b":1}}',
    );
    expect(details).toEqual({ role: "code", attempt: 1, title: "t" });
  });
});
