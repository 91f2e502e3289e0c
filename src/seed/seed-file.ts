/**
 * The seed file of `producer task import`: a JSON list of tasks filed in one go, naming each
 * other by `ref`. `producer init` writes {@link EXAMPLE_SEED_FILE_TEXT} as
 * `seed_tasks.example.json`, so the format and its example live together here.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { asError, oneLineMessage, ProducerError } from "../errors.js";
import type { NewTask, Payload } from "../ledger/types.js";
import { isoInstantMs, requireRole } from "../ledger/validate.js";
import { suggest } from "../text/suggest.js";
import { decodeUtf8 } from "../text/utf8.js";

// `null` is accepted as "not given": people writing JSON by hand often spell absence that way.
const line = () => z.string().trim().min(1);

/**
 * One task of a seed file. Keys are snake_case like producer.yaml; unknown keys are errors.
 * `ref` names the task inside the file; `depends_on` and `parent` take refs of the same file
 * or ids of tasks already in the ledger.
 */
export const SEED_TASK_SCHEMA = z.strictObject({
  /** A name other entries of the file may use in `depends_on` or `parent`. */
  ref: line().nullish(),
  /** The role that will do the task. */
  agent: line(),
  /** One line saying what to do. */
  title: line(),
  /** What done looks like, where to look. */
  description: z.string().nullish(),
  /** Structured details, a JSON object. */
  // Taken as it is: z.record would copy it and silently drop a "__proto__" key.
  payload: z
    .custom<Record<string, unknown>>(
      (v) => v !== null && typeof v === "object" && !Array.isArray(v),
    )
    .nullish(),
  /** 1 (highest) .. 9 (lowest); 5 when absent. */
  priority: z.int().min(1).max(9).nullish(),
  /** Refs or task ids that must be done first. */
  depends_on: z.array(line()).nullish(),
  /** The ref or id of the task this one belongs under (usually absent for seeded work). */
  parent: line().nullish(),
  /** ISO-8601 instant before which the task is not claimable. */
  not_before: z
    .string()
    .refine((s) => isoInstantMs(s) !== null)
    .nullish(),
});

/** One task of a seed file, as written. */
export type SeedTask = z.input<typeof SEED_TASK_SCHEMA>;

type SeedField = keyof SeedTask;

/** What each field must be, in words, for the messages a bad file gets. */
const FIELD_RULES: Readonly<Record<SeedField, string>> = {
  ref: "must be a short name the other tasks of the file can point to",
  agent: 'must name the role that will do the task, like "code"',
  title: "must be one non-empty line saying what to do",
  description: "must be text",
  payload: 'must be a JSON object like {"key": "value"}',
  priority: "must be a whole number from 1 (highest) to 9 (lowest)",
  depends_on: 'must be a list of refs or task ids, like ["spec"]',
  parent: "must be the ref or id of one task",
  not_before: "must be an ISO-8601 timestamp like 2026-05-06T09:30:00Z",
};

const FIELDS = Object.keys(FIELD_RULES) as SeedField[];

/** Names people reach for from the library or the MCP tool, too far off for `suggest`. */
const ALIASES: Readonly<Record<string, SeedField>> = {
  agent_owner: "agent",
  agentOwner: "agent",
  role: "agent",
  owner: "agent",
  parent_task_id: "parent",
  parentTaskId: "parent",
  dependencies: "depends_on",
  notBefore: "not_before",
};

/** Roles the example uses; a project must have them for the example to import as it is. */
export const EXAMPLE_SEED_ROLES = ["design", "code", "art", "qa"] as const;

/**
 * The example seed file: a design spec that code and art build from, and a QA pass once both
 * are done. `depends_on` names the other entries by `ref`, so nothing starts early.
 */
export const EXAMPLE_SEED_TASKS: readonly SeedTask[] = [
  {
    ref: "spec",
    agent: "design",
    title: "Write the design spec for the title screen",
    description:
      "Describe the layout, the menu entries (Start, Options, Quit), keyboard and gamepad navigation, and the art each element needs. Save it as docs/specs/title-screen.md and register it as an asset.",
    priority: 2,
    payload: { screen: "title", spec_path: "docs/specs/title-screen.md" },
  },
  {
    ref: "code",
    agent: "code",
    title: "Implement the title screen from its spec",
    description:
      "Follow docs/specs/title-screen.md. Use placeholder rectangles where the art is not in yet; every menu entry must be reachable by keyboard and gamepad. Add tests for the menu navigation.",
    depends_on: ["spec"],
    payload: { screen: "title", spec_path: "docs/specs/title-screen.md" },
  },
  {
    ref: "art",
    agent: "art",
    title: "Draw the title screen logo and menu background",
    description:
      "Follow the art list in docs/specs/title-screen.md. Deliver PNGs under assets/title/ at 1x and 2x and register each file as an asset.",
    depends_on: ["spec"],
    payload: { screen: "title", output_dir: "assets/title" },
  },
  {
    ref: "qa",
    agent: "qa",
    title: "Test the title screen against its spec",
    description:
      "Check every point of docs/specs/title-screen.md on the built game: layout, art in place, navigation by keyboard and gamepad. File a code or art task for each defect you find.",
    depends_on: ["code", "art"],
    priority: 4,
    payload: { screen: "title", spec_path: "docs/specs/title-screen.md" },
  },
];

/** The text `producer init` writes as `seed_tasks.example.json`. */
export const EXAMPLE_SEED_FILE_TEXT = `${JSON.stringify(EXAMPLE_SEED_TASKS, null, 2)}\n`;

/** How a value found in the file is quoted back, kept short. */
function quote(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  }
  return String(value);
}

/** The field an unknown key was probably meant to be. */
const meantFor = (key: string): SeedField | undefined =>
  Object.hasOwn(ALIASES, key) ? ALIASES[key] : (suggest(key, FIELDS) as SeedField | undefined);

function unknownField(key: string): string {
  const close = meantFor(key);
  return `unknown field "${key}" (${close ? `did you mean "${close}"?` : `the fields are: ${FIELDS.join(", ")}`})`;
}

/** One entry, checked (strings trimmed), or every problem of it, one message per field. */
function checkEntry(entry: unknown): { task: SeedTask } | { problems: string[] } {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    return {
      problems: [`must be an object like {"agent": "code", "title": "..."}, got ${quote(entry)}`],
    };
  }
  const result = SEED_TASK_SCHEMA.safeParse(entry);
  if (result.success) return { task: result.data };
  const problems: string[] = [];
  // A misspelt field is reported once, as the typo, not also as the field it is missing for.
  const typoFor = new Set(
    Object.keys(entry)
      .filter((key) => !Object.hasOwn(FIELD_RULES, key))
      .map(meantFor),
  );
  const reported = new Set<string>();
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      // First: a misspelt key often explains the problems that follow it.
      problems.unshift(...issue.keys.map(unknownField));
      continue;
    }
    const field = String(issue.path[0]) as SeedField;
    if (reported.has(field)) continue;
    reported.add(field);
    const value = (entry as Record<string, unknown>)[field];
    if (value === undefined && typoFor.has(field)) continue;
    problems.push(
      value === undefined
        ? `${field} is missing: it ${FIELD_RULES[field]}`
        : `${field} ${FIELD_RULES[field]}, got ${quote(value)}`,
    );
  }
  return { problems };
}

/** The outcome of checking a parsed seed file: its tasks, or every problem found. */
export type SeedCheck = { ok: true; tasks: SeedTask[] } | { ok: false; problems: string[] };

/**
 * Checks the shape of a parsed seed file: a list of tasks, or `{"tasks": [...]}`. Problems
 * name the entry the way the ledger does (`task 2 of 4 ("title")`) and the field. Roles,
 * refs and ids are left to the ledger, which checks them against what it holds.
 */
export function checkSeedTasks(value: unknown): SeedCheck {
  let entries: unknown = value;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const extra = Object.keys(value).filter((k) => k !== "tasks");
    if (extra.length > 0) {
      return {
        ok: false,
        problems: extra.map(
          (k) =>
            `unknown top-level field "${k}"${suggest(k, ["tasks"]) ? ' (did you mean "tasks"?)' : ""}: the file holds a list of tasks, or {"tasks": [...]}`,
        ),
      };
    }
    entries = (value as { tasks?: unknown }).tasks;
  }
  if (!Array.isArray(entries)) {
    return {
      ok: false,
      problems: [
        `the file must hold a JSON list of tasks, or {"tasks": [...]}; found ${quote(entries)}`,
      ],
    };
  }
  if (entries.length === 0) return { ok: false, problems: ["the file holds no tasks"] };
  const tasks: SeedTask[] = [];
  const problems: string[] = [];
  for (const [index, entry] of (entries as unknown[]).entries()) {
    const checked = checkEntry(entry);
    if ("task" in checked) {
      tasks.push(checked.task);
      continue;
    }
    const title = (entry as { title?: unknown } | null)?.title;
    const label = `task ${index + 1} of ${entries.length}${typeof title === "string" ? ` (${JSON.stringify(title.slice(0, 60))})` : ""}`;
    problems.push(...checked.problems.map((p) => `${label}: ${p}`));
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, tasks };
}

/**
 * Reads and checks a seed file. A missing, unreadable or non-JSON file, or a file of the wrong
 * shape, is a ProducerError naming `shownAs` and every problem at once.
 */
export function readSeedFile(path: string, shownAs: string = path): SeedTask[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "it is a folder"
          : asError(error).message;
    throw new ProducerError(`cannot read seed file ${shownAs}: ${why}`, { cause: error });
  }
  return parseSeedText(decodeUtf8(bytes, `seed file ${shownAs}`), shownAs);
}

/** Parses and checks seed-file text (from a file or stdin); see {@link readSeedFile}. */
export function parseSeedText(text: string, shownAs: string): SeedTask[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProducerError(`${shownAs} is not valid JSON: ${oneLineMessage(error)}`, {
      cause: error,
    });
  }
  const check = checkSeedTasks(value);
  if (check.ok) return check.tasks;
  if (check.problems.length === 1) throw new ProducerError(`${shownAs}: ${check.problems[0]}`);
  throw new ProducerError(
    `${shownAs} has ${check.problems.length} problems:\n${check.problems.map((p) => `  - ${p}`).join("\n")}`,
  );
}

/**
 * What can be checked of a whole seed file before the ledger sees it, every problem at once:
 * roles the project does not have, refs defined twice, and `depends_on` or `parent` names that
 * are neither a ref of the file nor shaped like a task id. (Whether an id exists, and whether
 * refs form a cycle, the ledger says; it stops at the first.)
 */
export function seedProblems(tasks: readonly SeedTask[], roles: readonly string[]): string[] {
  const found: { index: number; problem: string }[] = [];
  const refs = new Map<string, number>();
  const taskId = /^[0-9A-HJKMNP-TV-Z]{26}$/i;
  const label = (i: number) =>
    `task ${i + 1} of ${tasks.length} (${JSON.stringify(tasks[i]!.title.slice(0, 60))})`;
  tasks.forEach((t, i) => {
    if (t.ref) {
      if (refs.has(t.ref)) {
        found.push({
          index: i,
          problem: `ref ${JSON.stringify(t.ref)} is already the ref of task ${refs.get(t.ref)! + 1}`,
        });
      } else refs.set(t.ref, i);
    }
  });
  tasks.forEach((t, i) => {
    try {
      // The ledger's own check, so a role is refused here in the ledger's words.
      requireRole("agent owner", t.agent, roles, suggest);
    } catch (error) {
      found.push({ index: i, problem: asError(error).message });
    }
    for (const [field, names] of [
      ["depends_on", t.depends_on ?? []],
      ["parent", t.parent ? [t.parent] : []],
    ] as const) {
      for (const name of names) {
        if (!refs.has(name) && !taskId.test(name)) {
          found.push({
            index: i,
            problem: `${field} ${JSON.stringify(name)} is neither a ref in this file nor a task id`,
          });
        }
      }
    }
  });
  // In file order, as the shape check lists them.
  return found
    .sort((a, b) => a.index - b.index)
    .map(({ index, problem }) => `${label(index)}: ${problem}`);
}

/**
 * The ledger's form of checked seed tasks. Entries without a parent get `defaultParent` (the
 * dispatched task, when an agent imports), the way `producer task add` attributes them.
 */
export function toNewTasks(
  tasks: readonly SeedTask[],
  attribution: { createdBy: string; defaultParent?: string | null },
): NewTask[] {
  return tasks.map((t) => ({
    ref: t.ref ?? undefined,
    agentOwner: t.agent,
    title: t.title,
    description: t.description ?? undefined,
    payload: (t.payload ?? undefined) as Payload | undefined,
    priority: t.priority ?? undefined,
    dependsOn: t.depends_on ?? undefined,
    parentTaskId: t.parent ?? attribution.defaultParent ?? null,
    notBefore: t.not_before ?? null,
    createdBy: attribution.createdBy,
  }));
}
