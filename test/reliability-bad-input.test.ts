/**
 * The bad input matrix: every command's arguments and every dashboard API field, given wrong
 * types, empty strings, huge strings, control characters, invalid UTF-8, JSON that is not an
 * object, ids that do not exist, SQL metacharacters and path traversal. Each gets one clear
 * error (exit 2 for usage, 1 for operational; HTTP 4xx with a JSON error) and leaves nothing
 * written, or is stored verbatim and comes back unchanged through every surface.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { TaskDetail } from "../src/cli/task/detail.js";
import { LedgerClient, type Task } from "../src/index.js";
import type { DashboardState } from "../src/web/state.js";
import { type CliResult, PRODUCER_BIN, runCli, tempProject } from "./helpers/cli.js";
import { dashboardProject, http, pageHeaders, type RawResponse } from "./helpers/dashboard.js";
import { tempDir } from "./helpers/temp.js";

const ROLES = ["producer", "design", "code", "qa"];
const ROLE_LIST = "the roles are: producer, design, code, qa";
const STATUS_LIST = "awaiting_approval, pending, in_progress, done, failed, escalated, killed";
const SEED_FIELDS =
  "the fields are: ref, agent, title, description, payload, priority, depends_on, parent, not_before";
const PRIORITY = "must be a whole number from 1 (highest) to 9 (lowest)";
const ISO = "must be an ISO-8601 timestamp like 2026-05-06T09:30:00Z";
const DATE = "--date must be a calendar day written YYYY-MM-DD";
const PORT = "--port must be a whole number from 1 to 65535";
const HEAD = "--head must be a 64-character hex hash, as printed in a morning report";
const PAYLOAD_KIND = 'must be a JSON object like {"key": "value"}, got';
const SQL = "'; DROP TABLE tasks; --";
/** A well-formed id that no task has. */
const NO_SUCH_ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
/** Not JSON, with a newline and a terminal escape that JSON.parse's message would quote. */
const BAD_JSON = "x\n\u001b[31m";
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes is the point.
const ESCAPE = /\u001b/;

/** One refused command line: what it is given and the whole of what it must answer. */
interface Refusal {
  args: string[];
  code: 1 | 2;
  stderr: string;
  input?: string | Buffer;
}

/** A refusal printed by the CLI's own handler: one line. */
const refused = (code: 1 | 2, message: string, args: string[], input?: string | Buffer) => ({
  args,
  code,
  stderr: `producer: ${message}\n`,
  input,
});

/** A usage error commander reports by itself: its line, maybe a hint, then main.ts's hint. */
const commander = (message: string, args: string[], didYouMean?: string): Refusal => ({
  args,
  code: 2,
  stderr: `error: ${message}\n${didYouMean ? `(Did you mean ${didYouMean}?)\n` : ""}(run with --help for usage)\n`,
});

/** What JSON.parse says about `text` on this Node. */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`valid JSON: ${text}`);
}

/** Runs `work` over `items` with at most `width` at a time, results in order. */
async function inParallel<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

const short = (arg: string) =>
  arg.length > 60 ? `${arg.slice(0, 12)}…(${arg.length} chars)` : arg;

/**
 * Runs every case in `cwd` and checks each answer exactly: exit code, empty stdout, the whole
 * of stderr; and that stderr is one line (or commander's usage form), never a stack trace.
 */
async function expectRefusals(cwd: string, cases: readonly Refusal[]): Promise<void> {
  const results = await inParallel(cases, 6, (c) => runCli(c.args, { cwd, input: c.input }));
  const label = (c: Refusal) => c.args.map(short).join(" ");
  expect(results.map((r, i) => [label(cases[i]!), r.code, r.stdout, r.stderr])).toEqual(
    cases.map((c) => [label(c), c.code, "", c.stderr]),
  );
  for (const [i, r] of results.entries()) {
    expect(r.stderr, label(cases[i]!)).toMatch(
      /^(producer( init)?: [^\n]+|error: [^\n]+\n(\(Did you mean [^\n]+\?\)\n)?\(run with --help for usage\))\n$/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at |PRODUCER_DEBUG|unexpected error/);
  }
}

/**
 * The project's files, bar the ledger's own (whose WAL files come and go) and the CLI's config
 * cache (written by whichever command first loads producer.yaml, refused or not).
 */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => !/^agent-state[/\\](ledger\.db|config-cache\.json$)/.test(f))
    .sort();
}

/**
 * A CLI project with a ledger holding one pending task, and a look at everything a refusal
 * must leave alone: the task count, the audit chain's head and the files.
 */
async function cliProject() {
  const dir = tempProject("", ROLES);
  const ledger = await LedgerClient.open({
    dbPath: join(dir, "agent-state", "ledger.db"),
    roles: ROLES,
    actor: "test",
  });
  onTestFinished(() => ledger.close());
  const victim = await ledger.insertTask({ agentOwner: "code", title: "The one task" });
  const state = async () => {
    const chain = await ledger.verifyAuditChain();
    expect(chain.ok).toBe(true);
    return { tasks: await ledger.countTasks(), head: chain.headHash, files: files(dir) };
  };
  return { dir, ledger, victim, state };
}

describe("bad input matrix: the CLI refuses with one line and writes nothing", () => {
  it("task add: empty, wrong types, huge, control characters, non-object payloads, unknown ids", async () => {
    const p = await cliProject();
    const before = await p.state();
    const add = (...args: string[]) => ["task", "add", "--agent", "code", "--title", "t", ...args];
    const title = (value: string) => ["task", "add", "--agent", "code", "--title", value];
    const agent = (value: string) => ["task", "add", "--agent", value, "--title", "t"];
    const line = "title must be a single line without control characters";
    const cases: Refusal[] = [
      // Empty strings.
      refused(1, "title must not be empty", title("")),
      refused(1, "title must not be empty", title("   ")),
      refused(1, `agent owner must not be empty; ${ROLE_LIST}`, agent("")),
      refused(2, `--priority ${PRIORITY}, got ""`, add("--priority", "")),
      refused(2, `--payload is not valid JSON (${jsonError("")})`, add("--payload", "")),
      refused(2, `--not-before ${ISO}, got ""`, add("--not-before", "")),
      // Wrong types and forms.
      refused(2, `--priority ${PRIORITY}, got "high"`, add("--priority", "high")),
      refused(2, `--priority ${PRIORITY}, got "5.5"`, add("--priority", "5.5")),
      refused(2, `--priority ${PRIORITY}, got "1e0"`, add("--priority", "1e0")),
      refused(2, `--priority ${PRIORITY}, got "10"`, add("--priority", "10")),
      refused(2, `--not-before ${ISO}, got "tomorrow"`, add("--not-before", "tomorrow")),
      // Date.parse takes these (2001, March 2nd, local time); an ISO-8601 flag must not.
      refused(2, `--not-before ${ISO}, got "1"`, add("--not-before", "1")),
      refused(2, `--not-before ${ISO}, got "2026-02-30"`, add("--not-before", "2026-02-30")),
      refused(2, `--not-before ${ISO}, got "May 6 2026"`, add("--not-before", "May 6 2026")),
      // JSON payloads that are not objects.
      refused(2, `--payload ${PAYLOAD_KIND} null`, add("--payload", "null")),
      refused(2, `--payload ${PAYLOAD_KIND} an array`, add("--payload", "[1, 2]")),
      refused(2, `--payload ${PAYLOAD_KIND} string`, add("--payload", '"{}"')),
      refused(2, `--payload ${PAYLOAD_KIND} number`, add("--payload", "42")),
      refused(2, `--payload ${PAYLOAD_KIND} boolean`, add("--payload", "true")),
      refused(
        2,
        `--payload is not valid JSON (${jsonError("{'a': 1}")})`,
        add("--payload", "{'a': 1}"),
      ),
      // Huge: one argument may not pass 128 KiB on Linux (E2BIG), so 100,000 characters here;
      // a 1 MB description comes through stdin.
      refused(
        1,
        "title is 100000 characters long; the limit is 500 (put the detail in the description)",
        title("x".repeat(100_000)),
      ),
      refused(
        1,
        "title is 501 characters long; the limit is 500 (put the detail in the description)",
        title("x".repeat(501)),
      ),
      refused(
        1,
        "title is 501 characters long; the limit is 500 (put the detail in the description)",
        title("🚀".repeat(501)),
      ),
      refused(
        1,
        "description is 1048576 characters long; the limit is 262144",
        add("--description", "-"),
        "d".repeat(1024 * 1024),
      ),
      // Control characters: C0, DEL and C1 (U+009B is a terminal's one-byte CSI).
      refused(1, line, title("two\nlines")),
      refused(1, line, title("tab\there")),
      refused(1, line, title("\u001b[31mred")),
      refused(1, line, title("bell\u0007")),
      refused(1, line, title("del\u007f")),
      refused(1, line, title("csi\u009b31m")),
      refused(
        1,
        "description contains control characters (only tab and newline are allowed)",
        add("--description", "ok\u001b[2J"),
      ),
      refused(
        1,
        `agent owner "co\\u0001de" is not a valid role name; ${ROLE_LIST}`,
        agent("co\u0001de"),
      ),
      // Invalid UTF-8 on stdin is refused, not stored as U+FFFD.
      refused(
        1,
        "the description on stdin is not valid UTF-8 text",
        add("--description", "-"),
        Buffer.from([0x63, 0x61, 0x66, 0xff, 0xfe]),
      ),
      // Ids and roles that do not exist, SQL metacharacters, path traversal as an id.
      refused(1, `unknown role "wizard"; ${ROLE_LIST}`, agent("wizard")),
      refused(1, `unknown role "${SQL}"; ${ROLE_LIST}`, agent(SQL)),
      refused(1, 'parent task "NOPE" does not exist', add("--parent", "NOPE")),
      refused(1, `parent task "${SQL}" does not exist`, add("--parent", SQL)),
      refused(1, `dependency "${NO_SUCH_ULID}" does not exist`, add("--depends-on", NO_SUCH_ULID)),
      refused(
        1,
        'dependency "../../etc/passwd" does not exist',
        add("--depends-on", "../../etc/passwd"),
      ),
      // Commander's own usage errors.
      commander("required option '--title <text>' not specified", [
        "task",
        "add",
        "--agent",
        "code",
      ]),
      commander("option '--title <text>' argument missing", [
        "task",
        "add",
        "--agent",
        "code",
        "--title",
      ]),
      commander("unknown option '--bogus'", add("--bogus")),
      // Commander checks required options before it looks for unknown ones.
      commander("required option '--title <text>' not specified", [
        "task",
        "add",
        "--agent",
        "code",
        "--titel",
        "t",
      ]),
      commander("unknown option '--limt'", ["task", "list", "--limt", "5"], "--limit"),
      // JSON.parse quotes the bad text as it is: the message escapes its newline and ESC.
      refused(
        2,
        `--payload is not valid JSON (${jsonError(BAD_JSON).replace("\n", "\\n").replace("\u001b", "\\u001b")})`,
        add("--payload", BAD_JSON),
      ),
    ];
    await expectRefusals(p.dir, cases);
    expect(await p.state()).toEqual(before);
  });

  it("task list, show, requeue, kill, reroute: unknown ids, SQL, bad filters and roles", async () => {
    const p = await cliProject();
    const id = p.victim.id;
    const before = await p.state();
    const noTask = (value: string) => `no task with id ${JSON.stringify(value)}`;
    const cases: Refusal[] = [
      refused(1, noTask("NOPE"), ["task", "show", "NOPE"]),
      refused(1, noTask(""), ["task", "show", ""]),
      refused(1, noTask(SQL), ["task", "show", SQL]),
      refused(1, noTask("%"), ["task", "show", "%"]),
      refused(1, noTask("../../agent-state/ledger.db"), [
        "task",
        "show",
        "../../agent-state/ledger.db",
      ]),
      refused(1, noTask(NO_SUCH_ULID), ["task", "requeue", NO_SUCH_ULID]),
      refused(1, noTask(SQL), ["task", "kill", SQL, "--reason", "x"]),
      refused(1, noTask("NOPE"), ["task", "reroute", "NOPE", "qa"]),
      refused(
        1,
        `cannot requeue task ${id}: it is pending (requeue works on failed, escalated, killed tasks)`,
        ["task", "requeue", id],
      ),
      refused(1, "reason must be a single line without control characters", [
        "task",
        "kill",
        id,
        "--reason",
        "stop\u001b[2J",
      ]),
      refused(1, `role must not be empty; ${ROLE_LIST}`, ["task", "reroute", id, ""]),
      refused(1, `unknown role "wizard"; ${ROLE_LIST}`, ["task", "reroute", id, "wizard"]),
      // The invisible character is shown, rather than "unknown role "code" (did you mean "code"?)".
      refused(1, `role "co\\u0001de" is not a valid role name; ${ROLE_LIST}`, [
        "task",
        "reroute",
        id,
        "co\u0001de",
      ]),
      refused(
        1,
        `role ${JSON.stringify(`${"r".repeat(61)}...`)} is not a valid role name; ${ROLE_LIST}`,
        ["task", "reroute", id, "r".repeat(100_000)],
      ),
      refused(2, '--limit must be a positive whole number, got "0"', [
        "task",
        "list",
        "--limit",
        "0",
      ]),
      refused(2, '--limit must be a positive whole number, got "-1"', [
        "task",
        "list",
        "--limit",
        "-1",
      ]),
      refused(2, '--limit must be a positive whole number, got ""', [
        "task",
        "list",
        "--limit",
        "",
      ]),
      refused(2, '--limit must be a positive whole number, got "1e3"', [
        "task",
        "list",
        "--limit",
        "1e3",
      ]),
      refused(2, `--status needs one or more of: ${STATUS_LIST}`, ["task", "list", "--status", ""]),
      refused(2, `unknown status "${SQL}"; the statuses are: ${STATUS_LIST}`, [
        "task",
        "list",
        "--status",
        SQL,
      ]),
      refused(2, `unknown status "__proto__"; the statuses are: ${STATUS_LIST}`, [
        "task",
        "list",
        "--status",
        "__proto__",
      ]),
      refused(1, `--agent must not be empty; ${ROLE_LIST}`, ["task", "list", "--agent", ""]),
      refused(1, `unknown role "constructor"; ${ROLE_LIST}`, [
        "task",
        "list",
        "--agent",
        "constructor",
      ]),
      refused(1, noTask(SQL), ["task", "list", "--parent", SQL]),
      commander("missing required argument 'id'", ["task", "show"]),
      commander("too many arguments for 'show'. Expected 1 argument but got 2.", [
        "task",
        "show",
        id,
        "x",
      ]),
      commander("missing required argument 'role'", ["task", "reroute", id]),
      commander("unknown command 'ad'", ["task", "ad"], "add"),
    ];
    await expectRefusals(p.dir, cases);
    expect(await p.state()).toEqual(before);
    expect(await p.ledger.getTask(id)).toEqual(p.victim);
  });

  it("task import: all or nothing, whatever is wrong with the file", async () => {
    const p = await cliProject();
    const outside = tempDir("producer-outside-");
    writeFileSync(join(outside, "notes.txt"), "not a seed file\n");
    const seed = (name: string, content: string | Buffer): string => {
      writeFileSync(join(p.dir, name), content);
      return name;
    };
    const json = (name: string, value: unknown) => seed(name, JSON.stringify(value));
    const one = (extra: Record<string, unknown>) => [{ agent: "code", title: "x", ...extra }];
    const entry = 'task 1 of 1 ("x")';
    const seeds = {
      utf8: seed("latin1.json", Buffer.from('[{"agent":"code","title":"caf\xe9"}]', "latin1")),
      empty: seed("empty.json", ""),
      number: seed("number.json", "42"),
      none: json("none.json", []),
      object: json("object.json", { task: one({}) }),
      arrayPayload: json("array-payload.json", one({ payload: [1] })),
      textPayload: json("text-payload.json", one({ payload: "{}" })),
      numberPayload: json("number-payload.json", one({ payload: 42 })),
      bigPayload: json("big-payload.json", one({ payload: { blob: "b".repeat(300_000) } })),
      hugeTitle: json("huge-title.json", [{ agent: "code", title: "t".repeat(1024 * 1024) }]),
      nul: json("nul.json", [{ agent: "code", title: "x\u0000y" }]),
      textPriority: json("text-priority.json", one({ priority: "3" })),
      oneDigit: json("one-digit.json", one({ not_before: "1" })),
      secondBad: json("second-bad.json", [
        { ref: "a", agent: "code", title: "first is fine" },
        { agent: "code", title: "y", depends_on: ["a", SQL] },
      ]),
      proto: seed("proto.json", '[{"agent":"code","title":"x","__proto__":{"title":"y"}}]'),
      toString: json("to-string.json", one({ toString: 1 })),
      badRole: json("bad-role.json", [{ agent: "co\u0001de", title: "x" }]),
    };
    const imp = (file: string) => ["task", "import", file];
    const cases: Refusal[] = [
      refused(2, 'give the seed file\'s path, or "-" for stdin', imp("")),
      refused(1, "cannot read seed file missing.json: no such file", imp("missing.json")),
      refused(1, "cannot read seed file .: it is a folder", imp(".")),
      refused(1, "cannot read seed file agent-state: it is a folder", imp("agent-state")),
      // Path traversal names a file like any other path: it is read, and refused as a seed file.
      refused(
        1,
        `../${outside.split("/").pop()}/notes.txt is not valid JSON: ${jsonError("not a seed file\n").replace("\n", "\\n")}`,
        imp(`../${outside.split("/").pop()}/notes.txt`),
      ),
      refused(1, "seed file latin1.json is not valid UTF-8 text", imp(seeds.utf8)),
      refused(1, `empty.json is not valid JSON: ${jsonError("")}`, imp(seeds.empty)),
      refused(
        1,
        'number.json: the file must hold a JSON list of tasks, or {"tasks": [...]}; found 42',
        imp(seeds.number),
      ),
      refused(1, "none.json: the file holds no tasks", imp(seeds.none)),
      refused(
        1,
        'object.json: unknown top-level field "task" (did you mean "tasks"?): the file holds a list of tasks, or {"tasks": [...]}',
        imp(seeds.object),
      ),
      refused(
        1,
        `array-payload.json: ${entry}: payload ${PAYLOAD_KIND} an array`,
        imp(seeds.arrayPayload),
      ),
      refused(
        1,
        `text-payload.json: ${entry}: payload ${PAYLOAD_KIND} "{}"`,
        imp(seeds.textPayload),
      ),
      refused(
        1,
        `number-payload.json: ${entry}: payload ${PAYLOAD_KIND} 42`,
        imp(seeds.numberPayload),
      ),
      refused(
        1,
        `big-payload.json: payload is ${JSON.stringify({ blob: "b".repeat(300_000) }).length} characters of JSON; the limit is 262144; nothing was imported`,
        imp(seeds.bigPayload),
      ),
      refused(
        1,
        "huge-title.json: title is 1048576 characters long; the limit is 500 (put the detail in the description); nothing was imported",
        imp(seeds.hugeTitle),
      ),
      refused(
        1,
        "nul.json: title must be a single line without control characters; nothing was imported",
        imp(seeds.nul),
      ),
      refused(
        1,
        `text-priority.json: ${entry}: priority ${PRIORITY}, got "3"`,
        imp(seeds.textPriority),
      ),
      refused(1, `one-digit.json: ${entry}: not_before ${ISO}, got "1"`, imp(seeds.oneDigit)),
      refused(
        1,
        `second-bad.json: task 2 of 2 ("y"): depends_on ${JSON.stringify(SQL)} is neither a ref in this file nor a task id; nothing was imported`,
        imp(seeds.secondBad),
      ),
      // Keys that exist on every object's prototype are unknown fields like any other.
      refused(
        1,
        `proto.json: ${entry}: unknown field "__proto__" (${SEED_FIELDS})`,
        imp(seeds.proto),
      ),
      refused(
        1,
        `to-string.json: ${entry}: unknown field "toString" (${SEED_FIELDS})`,
        imp(seeds.toString),
      ),
      refused(
        1,
        // The control character is written escaped, never sent to the terminal as it is.
        `bad-role.json: task 1 of 1 ("x"): agent owner "co\\u0001de" is not a valid role name; ${ROLE_LIST}; nothing was imported`,
        imp(seeds.badRole),
      ),
      refused(1, `stdin is not valid JSON: ${jsonError("[{")}`, imp("-"), "[{"),
      refused(
        1,
        "the seed file on stdin is not valid UTF-8 text",
        imp("-"),
        Buffer.from([0x5b, 0xff]),
      ),
      commander("missing required argument 'file'", ["task", "import"]),
    ];
    const before = await p.state();
    await expectRefusals(p.dir, cases);
    // The seed files were there before; nothing else is, and the ledger is as it was.
    expect(await p.state()).toEqual(before);
  });

  it("kill, resume, report, ui, run, audit verify, pricing update, --config: flag values", async () => {
    const p = await cliProject();
    const outside = tempDir("producer-outside-");
    writeFileSync(join(outside, "notes.txt"), "not a price list\n");
    const before = await p.state();
    const sibling = `../${outside.split("/").pop()}/notes.txt`;
    const cases: Refusal[] = [
      refused(2, 'give a reason, e.g. producer kill "deploy in progress"', ["kill", ""]),
      refused(2, 'give a reason, e.g. producer kill "deploy in progress"', ["kill", " \t "]),
      commander("missing required argument 'reason'", ["kill"]),
      commander("too many arguments for 'resume'. Expected 0 arguments but got 1.", [
        "resume",
        "now",
      ]),
      ...["", "2026-13-01", "2026-02-30", "20260101", "2026-1-1", "../../etc/passwd", SQL].map(
        (day) => refused(2, `${DATE}, got ${JSON.stringify(day)}`, ["report", "--date", day]),
      ),
      commander("option '--date <day>' argument missing", ["report", "--date"]),
      ...["0", "70000", "abc", "", "-1", "80.5", "1e3", " "].map((port) =>
        refused(2, `${PORT}, got ${JSON.stringify(port)}`, ["ui", "--port", port, "--no-browser"]),
      ),
      ...["xml", "", "JSON"].map((format) =>
        refused(2, `--log-format must be text or json, got ${JSON.stringify(format)}`, [
          "run",
          "--log-format",
          format,
        ]),
      ),
      ...["", "abc", "g".repeat(64), "a".repeat(65), SQL].map((head) =>
        refused(2, HEAD, ["audit", "verify", "--head", head]),
      ),
      refused(2, "--source needs a URL or a file path", ["pricing", "update", "--source", ""]),
      refused(2, '--source must be an http(s) URL or a file path, not "ftp://example.com/p.json"', [
        "pricing",
        "update",
        "--source",
        "ftp://example.com/p.json",
      ]),
      refused(1, `could not read price list ${join(p.dir, "missing.json")}: no such file`, [
        "pricing",
        "update",
        "--source",
        "missing.json",
      ]),
      refused(1, `price list from ${join(outside, "notes.txt")} is not valid JSON`, [
        "pricing",
        "update",
        "--source",
        sibling,
      ]),
      refused(2, "--config needs the path of producer.yaml", ["--config", "", "task", "list"]),
      refused(
        1,
        `${join(p.dir, "missing.yaml")}: not found: run \`producer init\` to create one, or pass --config`,
        ["--config", "missing.yaml", "task", "list"],
      ),
      commander("unknown command 'bogus'", ["bogus"]),
      commander("unknown option '--bogus'", ["--bogus"]),
      commander("unknown option '--jsn'", ["status", "--jsn"], "--json"),
      commander("unknown command 'updat'", ["pricing", "updat"], "update"),
    ];
    await expectRefusals(p.dir, cases);
    // No kill switch, no report, no price override: the files are as they were.
    expect(await p.state()).toEqual(before);

    // Hex is hex in either case: the head a report printed, shouted, still proves the chain.
    const upper = await runCli(["audit", "verify", "--head", before.head.toUpperCase()], {
      cwd: p.dir,
    });
    expect(upper).toMatchObject({ code: 0, stderr: "" });
    expect(upper.stdout).toContain(
      `audit chain ok: 1 rows, 1 records checked; head ${before.head}`,
    );
  });

  it("containment: human-only commands inside a dispatch, and the fence's config keys", async () => {
    const p = await cliProject();
    const before = await p.state();
    const seed = join(p.dir, "prices.json");
    writeFileSync(
      seed,
      readFileSync(join(import.meta.dirname, "..", "src", "pricing", "pricing.json")),
    );
    const inside = { PRODUCER_TASK_ID: p.victim.id, PRODUCER_ROLE: "code" };
    for (const [args, why] of [
      [["resume"], "only a human releases the brake (an agent may pull it)"],
      [
        ["pricing", "update", "--source", seed],
        "prices are set by a human, outside the agents' runs",
      ],
    ] as const) {
      const result = await runCli([...args], { cwd: p.dir, env: inside });
      expect(result).toMatchObject({
        code: 2,
        stdout: "",
        stderr: `producer: producer ${args[0]}${args[0] === "pricing" ? " update" : ""} cannot run inside a dispatched agent: ${why}\n`,
      });
    }
    expect(await p.state()).toEqual({ ...before, files: [...before.files, "prices.json"].sort() });

    const yaml = join(p.dir, "producer.yaml");
    writeFileSync(
      yaml,
      'auth:\n  bypass_permissions: "yes"\nagents:\n  code:\n    daily_cap_usd: 1\n    env: ["not valid", 3]\n',
    );
    const bad = await runCli(["task", "list"], { cwd: p.dir });
    expect(bad).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `producer: ${yaml} has 3 problems:\n  - auth.bypass_permissions: must be true or false, got "yes"\n  - agents.code.env[0]: must be an environment variable name like GITHUB_TOKEN\n  - agents.code.env[1]: must be a string, got 3 (put it in quotes: "3")\n`,
    });
  });

  it("init --dir and demo --dir: empty, control characters, files, foreign folders, traversal", async () => {
    const root = tempDir("producer-dirs-");
    const cwd = join(root, "work", "here");
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(root, "a-file"), "x");
    mkdirSync(join(root, "mine"));
    writeFileSync(join(root, "mine", "keep.txt"), "mine");
    const initDir = (dir: string) => ["init", "--non-interactive", "--dir", dir];
    const demoDir = (dir: string) => ["demo", "--dir", dir];
    const init = (code: 1 | 2, message: string, args: string[]): Refusal => ({
      args,
      code,
      stderr: `producer init: ${message}\n`,
    });
    const roleRule =
      'invalid role name: use a lowercase letter first, then lowercase letters, digits, "_" or "-" (at most 40 characters)';
    const cases: Refusal[] = [
      init(2, "--dir needs a folder path", initDir("")),
      init(2, '--dir contains control characters: "a\\u0001b"', initDir("a\u0001b")),
      init(2, '--dir contains control characters: "new\\nline"', initDir("new\nline")),
      init(
        2,
        '--dir ~/x: "~" is only expanded by a shell, and it was not here; write the full path (e.g. $HOME/x)',
        initDir("~/x"),
      ),
      init(1, `--dir ${join(root, "a-file")} is a file, not a folder`, initDir("../../a-file")),
      init(
        1,
        `--dir ${join(root, "a-file", "sub")} cannot be created: ${join(root, "a-file")} is a file, not a folder`,
        initDir("../../a-file/sub"),
      ),
      init(2, "--roles needs at least one role name, e.g. --roles design,code,qa", [
        "init",
        "--non-interactive",
        "--roles",
        "",
      ]),
      init(2, `--roles: "../x": ${roleRule}`, ["init", "--non-interactive", "--roles", "../x"]),
      init(2, `--roles: "${SQL}": ${roleRule}`, ["init", "--non-interactive", "--roles", SQL]),
      // demo --dir goes through the same checks (it used to join even an absolute path to the
      // current folder, and crash with a stack hint on a file).
      refused(2, "--dir needs a folder path", demoDir("")),
      refused(2, '--dir contains control characters: "a\\u0001b"', demoDir("a\u0001b")),
      refused(1, `--dir ${join(root, "a-file")} is a file, not a folder`, demoDir("../../a-file")),
      refused(
        1,
        `${join(root, "mine")} is not empty and was not made by producer demo: pass --dir with a new folder`,
        demoDir(join(root, "mine")),
      ),
      refused(
        1,
        `${join(root, "mine")} is not empty and was not made by producer demo: pass --dir with a new folder`,
        demoDir("../../mine"),
      ),
    ];
    const listing = () => readdirSync(root, { recursive: true, encoding: "utf8" }).sort();
    const before = listing();
    await expectRefusals(cwd, cases);
    expect(listing()).toEqual(before);

    // A relative --dir that climbs out of the current folder is the user's to choose: the
    // project lands exactly where it points, and nothing lands in the current folder.
    const made = await runCli(initDir("../../elsewhere/proj"), { cwd });
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(`in ${join(root, "elsewhere", "proj")}\n`);
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(join(root, "elsewhere", "proj"))).toContain("producer.yaml");
  });
});

/** Text a careful ledger stores as it is: none of it is a reason to refuse. */
const ODD = {
  sql: `Robert'); DROP TABLE tasks;-- "quoted" 100% done_ok \\ back`,
  html: `<script>alert("x")</script><img src=x onerror=alert(1)> &amp; &lt;b&gt;`,
  emoji: "Ship it 🚀 👩‍💻 — café naïve ✓ 日本語",
  rtl: "שלום עולם — مرحبا بالعالم (mixed ltr)",
  exactly500: `${"a".repeat(499)}z`,
  emoji500: "🚀".repeat(500),
};
const ODD_DESCRIPTION = `line one\n\ttabbed <b>bold</b> ${SQL}\nשלום 🚀 \u202Eevil`;
const ODD_PAYLOAD = `{"sql":${JSON.stringify(SQL)},"html":"<script>x</script>","emoji":"🚀","__proto__":{"polluted":true},"nested":{"rtl":"مرحبا"}}`;

/** JSON text of a value, for comparing payloads with an own "__proto__" key. */
const text = (value: unknown) => JSON.stringify(value);

describe("bad input matrix: odd but legitimate text is stored verbatim everywhere", () => {
  it("SQL, HTML, emoji, RTL and 500-character titles: CLI, ledger, task list and /api/state agree", async () => {
    const p = await dashboardProject();
    const entries = Object.entries(ODD);
    // Half filed through the CLI, half through the dashboard.
    const viaCli = entries.slice(0, 3);
    const viaApi = entries.slice(3);
    const filedByCli = await Promise.all(
      viaCli.map(([, title]) =>
        runCli(
          [
            "task",
            "add",
            "--agent",
            "code",
            "--title",
            title,
            "--description",
            ODD_DESCRIPTION,
            "--payload",
            ODD_PAYLOAD,
            "--json",
          ],
          { cwd: p.dir },
        ),
      ),
    );
    const filedByApi: RawResponse[] = [];
    for (const [, title] of viaApi) {
      filedByApi.push(
        await http(p.dashboard, "/api/tasks", {
          method: "POST",
          headers: pageHeaders(p.dashboard),
          body: `{"role":"qa","title":${JSON.stringify(title)},"description":${JSON.stringify(ODD_DESCRIPTION)},"payload":${ODD_PAYLOAD}}`,
        }),
      );
    }
    expect(filedByCli.map((r) => [r.code, r.stderr])).toEqual(viaCli.map(() => [0, ""]));
    expect(filedByApi.map((r) => r.status)).toEqual(viaApi.map(() => 201));
    const ids = new Map<string, string>([
      ...filedByCli.map((r, i): [string, string] => [viaCli[i]![1], JSON.parse(r.stdout).id]),
      ...filedByApi.map((r, i): [string, string] => [
        viaApi[i]![1],
        r.json<{ task: Task }>().task.id,
      ]),
    ]);

    const shown = await Promise.all(
      [...ids.values()].map((id) => runCli(["task", "show", id, "--json"], { cwd: p.dir })),
    );
    const [table, listed, percent, underscore] = await Promise.all([
      runCli(["task", "list"], { cwd: p.dir }),
      runCli(["task", "list", "--json"], { cwd: p.dir }),
      runCli(["task", "list", "--search", "%", "--json"], { cwd: p.dir }),
      runCli(["task", "list", "--search", "_", "--json"], { cwd: p.dir }),
    ]);
    const state = (await http(p.dashboard, "/api/state")).json<DashboardState>();
    for (const [i, [title, id]] of [...ids.entries()].entries()) {
      // The ledger, through the library.
      const stored = (await p.ledger.getTask(id))!;
      expect(stored.title).toBe(title);
      expect(stored.description).toBe(ODD_DESCRIPTION);
      expect(text(stored.payload)).toBe(text(JSON.parse(ODD_PAYLOAD)));
      expect(Object.hasOwn(stored.payload, "__proto__")).toBe(true);
      // producer task show --json.
      const detail = JSON.parse(shown[i]!.stdout) as TaskDetail;
      expect([detail.task.title, detail.task.description]).toEqual([title, ODD_DESCRIPTION]);
      expect(text(detail.task.payload)).toBe(text(JSON.parse(ODD_PAYLOAD)));
      // The table (title last, not clipped when not a terminal) and its JSON.
      expect(table.stdout.split("\n")).toContainEqual(
        expect.stringMatching(`^${id} .*  ${escapeRe(title)}$`),
      );
      expect((JSON.parse(listed.stdout) as Task[]).find((t) => t.id === id)?.title).toBe(title);
      // The dashboard's JSON: the page escapes at render time, the API returns the text as is.
      expect(state.tasks.items.find((t) => t.id === id)?.title).toBe(title);
      const api = (await http(p.dashboard, `/api/tasks/${id}`)).json<{ task: Task }>();
      expect([api.task.title, api.task.description]).toEqual([title, ODD_DESCRIPTION]);
      expect(text(api.task.payload)).toBe(text(JSON.parse(ODD_PAYLOAD)));
    }
    expect(ESCAPE.test(table.stdout)).toBe(false);
    // LIKE wildcards are searched for literally: only the title holding "%" or "_" matches.
    expect((JSON.parse(percent.stdout) as Task[]).map((t) => t.title)).toEqual([ODD.sql]);
    expect((JSON.parse(underscore.stdout) as Task[]).map((t) => t.title)).toEqual([ODD.sql]);
    // The page itself carries no task text: it fetches JSON and renders it as text.
    const page = await http(p.dashboard, "/");
    expect(page.text).not.toContain("alert(");
    // Six rows, six audit rows, an intact chain; the table still exists.
    expect(await p.ledger.countTasks()).toBe(entries.length);
    expect((await p.ledger.verifyAuditChain()).ok).toBe(true);
  });

  it("invalid UTF-8 on the command line arrives as U+FFFD, and that is what is stored", async () => {
    const p = await cliProject();
    const run = (command: string, args: readonly string[]): Promise<CliResult> =>
      new Promise((resolve, reject) => {
        const child = spawn(command, args, {
          cwd: p.dir,
          env: { ...process.env, NO_COLOR: "1", PRODUCER_CONFIG: "" },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => {
          stdout += d;
        });
        child.stderr.on("data", (d) => {
          stderr += d;
        });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
    const add = ["task", "add", "--agent", "code", "--json", "--title"];
    // A Buffer argument: Node documents strings only, and turns the Buffer into one with
    // String(), which decodes 0xff as U+FFFD before the child is even started.
    const fromBuffer = await run(process.execPath, [
      PRODUCER_BIN,
      ...add,
      Buffer.from([0x63, 0x61, 0x66, 0xff]) as unknown as string,
    ]);
    // The raw byte itself, put in argv by a shell: the child's Node decodes argv the same way.
    const fromShell = await run("/bin/sh", [
      "-c",
      `exec "$0" "$1" ${add.join(" ")} "$(printf 'caf\\377')"`,
      process.execPath,
      PRODUCER_BIN,
    ]);
    for (const result of [fromBuffer, fromShell]) {
      expect([result.code, result.stderr]).toEqual([0, ""]);
      const task = JSON.parse(result.stdout) as Task;
      expect(task.title).toBe("caf\uFFFD");
      expect((await p.ledger.getTask(task.id))?.title).toBe("caf\uFFFD");
    }
    // A NUL byte cannot reach the CLI at all: no argv can hold one.
    expect(() => spawn(process.execPath, [PRODUCER_BIN, "task", "add", "--title", "a\0b"])).toThrow(
      /null bytes/,
    );
    // A seed file with a byte-order mark is still UTF-8: it imports.
    writeFileSync(
      join(p.dir, "bom.json"),
      `\uFEFF${JSON.stringify([{ agent: "qa", title: "BOM" }])}`,
    );
    const bom = await runCli(["task", "import", "bom.json"], { cwd: p.dir });
    expect(bom).toMatchObject({ code: 0, stdout: "imported 1 task\n", stderr: "" });
    expect(readFileSync(join(p.dir, "bom.json"))[0]).toBe(0xef);
  });
});

function escapeRe(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One dashboard request and the answer it must get. */
interface ApiCase {
  what: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  method?: string;
  status: number;
  error: string;
}

describe("bad input matrix: the dashboard API answers a JSON error and writes nothing", () => {
  it("POST /api/tasks with each bad field, bad bodies, wrong content types, huge bodies", async () => {
    const p = await dashboardProject();
    const victim = await p.fileTask("code", "The one task");
    const task = (extra: Record<string, unknown>) => ({ role: "code", title: "t", ...extra });
    const post = (what: string, body: unknown, status: number, error: string): ApiCase => ({
      what,
      path: "/api/tasks",
      body,
      status,
      error,
    });
    const line = "title must be a single line without control characters";
    const roles = "role must be one of producer, design, code, qa";
    const priority = (shown: string) => `priority ${PRIORITY}, got ${shown}`;
    const json = (
      what: string,
      body: string,
      contentType: string,
      status: number,
      error: string,
    ) => ({
      ...post(what, body, status, error),
      headers: { "content-type": contentType },
    });
    const cases: ApiCase[] = [
      // Each field, wrong.
      post("title: a number", task({ title: 123 }), 400, "title must be text"),
      post("title: an array", task({ title: ["a"] }), 400, "title must be text"),
      post("title: missing", { role: "code" }, 400, "title is required"),
      post("title: empty", task({ title: "" }), 400, "title is required"),
      post("title: blank", task({ title: "   " }), 400, "title is required"),
      post(
        "title: 501",
        task({ title: "x".repeat(501) }),
        400,
        "title is 501 characters long; the limit is 500",
      ),
      post(
        "title: 900,000",
        task({ title: "x".repeat(900_000) }),
        400,
        "title is 900000 characters long; the limit is 500",
      ),
      post("title: newline", task({ title: "two\nlines" }), 400, line),
      post("title: ANSI", task({ title: "\u001b[31mred" }), 400, line),
      post("title: NUL", task({ title: "a\u0000b" }), 400, line),
      post("title: C1", task({ title: "next\u0085line" }), 400, line),
      post("role: missing", { title: "t" }, 400, roles),
      post("role: array", task({ role: ["code"] }), 400, roles),
      post("role: unknown", task({ role: "wizard" }), 400, `${roles}, got "wizard"`),
      post("role: prototype key", task({ role: "toString" }), 400, `${roles}, got "toString"`),
      post("role: SQL", task({ role: SQL }), 400, `${roles}, got "${SQL}"`),
      post("priority: true", task({ priority: true }), 400, priority("true")),
      post("priority: [3]", task({ priority: [3] }), 400, priority("[3]")),
      post("priority: 2.5", task({ priority: 2.5 }), 400, priority("2.5")),
      post("priority: 0", task({ priority: 0 }), 400, priority("0")),
      post("priority: text", task({ priority: "abc" }), 400, priority('"abc"')),
      post("priority: blank", task({ priority: "  " }), 400, priority('"  "')),
      post("description: number", task({ description: 5 }), 400, "description must be text"),
      post(
        "description: bell",
        task({ description: "a\u0007b" }),
        400,
        "description contains control characters (only tab and newline are allowed)",
      ),
      post(
        "description: 300,000",
        task({ description: "d".repeat(300_000) }),
        400,
        "description is 300000 characters long; the limit is 262144",
      ),
      post("payload: true", task({ payload: true }), 400, `payload ${PAYLOAD_KIND} boolean`),
      post("payload: 42", task({ payload: 42 }), 400, `payload ${PAYLOAD_KIND} number`),
      post("payload: [1]", task({ payload: [1] }), 400, `payload ${PAYLOAD_KIND} an array`),
      post("payload: 'null'", task({ payload: "null" }), 400, `payload ${PAYLOAD_KIND} null`),
      post("payload: '\"s\"'", task({ payload: '"s"' }), 400, `payload ${PAYLOAD_KIND} string`),
      post(
        "payload: '{oops'",
        task({ payload: "{oops" }),
        400,
        `payload is not valid JSON (${jsonError("{oops")})`,
      ),
      // The body itself.
      post(
        "body: not JSON",
        "{not json",
        400,
        `the request body is not valid JSON (${jsonError("{not json")})`,
      ),
      post(
        "body: cut short",
        '{"role":"code"',
        400,
        `the request body is not valid JSON (${jsonError('{"role":"code"')})`,
      ),
      post("body: null", "null", 400, "the request body must be a JSON object"),
      post("body: string", '"task"', 400, "the request body must be a JSON object"),
      post("body: number", "42", 400, "the request body must be a JSON object"),
      post("body: array", "[1, 2]", 400, "the request body must be a JSON object"),
      post(
        "body: invalid UTF-8",
        Buffer.concat([
          Buffer.from('{"role":"code","title":"caf'),
          Buffer.from([0xff]),
          Buffer.from('"}'),
        ]),
        400,
        "the request body is not valid UTF-8",
      ),
      post(
        "body: 1.1 MB",
        task({ description: "y".repeat(1_100_000) }),
        413,
        "the request body is larger than 1048576 bytes",
      ),
      // Wrong content types, though the JSON inside is fine.
      json(
        "text/plain",
        '{"role":"code","title":"t"}',
        "text/plain",
        415,
        'the request body must be JSON sent as Content-Type: application/json, not "text/plain"',
      ),
      json(
        "form",
        "role=code&title=t",
        "application/x-www-form-urlencoded",
        415,
        'the request body must be JSON sent as Content-Type: application/json, not "application/x-www-form-urlencoded"',
      ),
      json(
        "multipart",
        '{"role":"code","title":"t"}',
        "multipart/form-data; boundary=x",
        415,
        'the request body must be JSON sent as Content-Type: application/json, not "multipart/form-data"',
      ),
      json(
        "no type",
        '{"role":"code","title":"t"}',
        "",
        415,
        "the request body must be JSON sent as Content-Type: application/json, not without a Content-Type",
      ),
      // Actions on ids that do not exist, and bad fields of the actions.
      ...["requeue", "kill", "reroute"].map((change) => ({
        what: `${change} NOPE`,
        path: `/api/tasks/NOPE/${change}`,
        body: { reason: "r", role: "qa" },
        status: 404,
        error: 'no task with id "NOPE"',
      })),
      {
        what: "kill SQL id",
        path: `/api/tasks/${encodeURIComponent(SQL)}/kill`,
        body: { reason: "r" },
        status: 404,
        error: `no task with id ${JSON.stringify(SQL)}`,
      },
      {
        what: "kill traversal id",
        path: `/api/tasks/${encodeURIComponent("../../etc")}/kill`,
        body: { reason: "r" },
        status: 404,
        error: 'no task with id "../../etc"',
      },
      {
        what: "kill 300-char id",
        path: `/api/tasks/${"A".repeat(300)}/kill`,
        body: { reason: "r" },
        status: 404,
        error: "no task with that id",
      },
      {
        what: "unknown action",
        path: `/api/tasks/${victim.id}/explode`,
        status: 404,
        error: "no such action: explode",
      },
      {
        what: "kill: no reason",
        path: `/api/tasks/${victim.id}/kill`,
        body: {},
        status: 400,
        error: "reason is required",
      },
      {
        what: "kill: reason number",
        path: `/api/tasks/${victim.id}/kill`,
        body: { reason: 5 },
        status: 400,
        error: "reason must be text",
      },
      {
        what: "kill: reason control only",
        path: `/api/tasks/${victim.id}/kill`,
        body: { reason: "\u0000\u001b\u0085" },
        status: 400,
        error: "reason is required",
      },
      {
        what: "reroute: unknown role",
        path: `/api/tasks/${victim.id}/reroute`,
        body: { role: "wizard" },
        status: 400,
        error: `${roles}, got "wizard"`,
      },
      {
        what: "requeue a pending task",
        path: `/api/tasks/${victim.id}/requeue`,
        body: {},
        status: 409,
        error: `cannot requeue task ${victim.id}: it is pending (requeue works on failed, escalated, killed tasks)`,
      },
      {
        what: "arm: no reason",
        path: "/api/killswitch/arm",
        body: {},
        status: 400,
        error: "reason is required",
      },
      {
        what: "arm: array body",
        path: "/api/killswitch/arm",
        body: "[]",
        status: 400,
        error: "the request body must be a JSON object",
      },
      {
        what: "arm: reason object",
        path: "/api/killswitch/arm",
        body: { reason: {} },
        status: 400,
        error: "reason must be text",
      },
      ...["2026-02-30", "../../../x", "2026-1-1"].map((day) => ({
        what: `report ${day}`,
        path: "/api/report",
        body: { day },
        status: 400,
        error: `day must be a calendar day written YYYY-MM-DD, got "${day}"`,
      })),
      {
        what: "report: day number",
        path: "/api/report",
        body: { day: 12 },
        status: 400,
        error: "day must be text",
      },
      {
        what: "GET unknown task",
        method: "GET",
        path: "/api/tasks/NOPE",
        status: 404,
        error: 'no task with id "NOPE"',
      },
      {
        what: "GET long search",
        method: "GET",
        path: `/api/state?q=${"q".repeat(201)}`,
        status: 400,
        error: "search text is limited to 200 characters",
      },
      {
        what: "GET bad offset",
        method: "GET",
        path: "/api/state?offset=-1",
        status: 400,
        error: 'offset must be a whole number >= 0, got "-1"',
      },
      {
        what: "PUT",
        method: "PUT",
        path: "/api/tasks",
        status: 405,
        error: "PUT is not allowed on /api/tasks (use POST)",
      },
    ];
    const before = {
      tasks: await p.ledger.countTasks(),
      head: (await p.ledger.verifyAuditChain()).headHash,
      files: files(p.dir),
    };
    const answers = await inParallel(cases, 8, (c) =>
      http(p.dashboard, c.path, {
        method: c.method ?? "POST",
        body: c.body,
        headers: { ...(c.method === "GET" ? {} : pageHeaders(p.dashboard)), ...c.headers },
      }),
    );
    expect(
      answers.map((a, i) => [
        cases[i]!.what,
        a.status,
        a.headers["content-type"],
        a.json<{ error: string }>().error,
      ]),
    ).toEqual(cases.map((c) => [c.what, c.status, "application/json", c.error]));
    expect({
      tasks: await p.ledger.countTasks(),
      head: (await p.ledger.verifyAuditChain()).headHash,
      files: files(p.dir),
    }).toEqual(before);
    expect(await p.ledger.getTask(victim.id)).toEqual(victim);
    expect(p.errors).toEqual([]);

    // The content types a browser or a script really sends are fine, and so is no body at all.
    const ok = await http(p.dashboard, "/api/tasks", {
      method: "POST",
      headers: { ...pageHeaders(p.dashboard), "content-type": "Application/JSON; charset=utf-8" },
      body: { role: "qa", title: "typed", priority: "2" },
    });
    expect(ok.status).toBe(201);
    expect(ok.json<{ task: Task }>().task).toMatchObject({ title: "typed", priority: 2 });
    const disarm = await http(p.dashboard, "/api/killswitch/disarm", {
      method: "POST",
      headers: pageHeaders(p.dashboard),
    });
    expect(disarm.status).toBe(200);
  });
});
