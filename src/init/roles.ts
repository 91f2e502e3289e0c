/**
 * The roles `producer init` scaffolds: which ones by default, how `--roles` is read, and the
 * starting settings and prompt wording of each. Roles the presets do not know get generic
 * wording that names the role, so every scaffolded prompt is concrete enough to edit.
 */

import { ROLE_NAME_PATTERN, ROLE_NAME_RULE } from "../config/schema.js";
import { UsageError } from "../errors.js";

/** The team `producer init` scaffolds when `--roles` is not given. */
export const DEFAULT_ROLES: readonly string[] = ["producer", "design", "code", "qa"];

/** What one follow-up task looks like in a role's prompt: the keystone example. */
export interface HandOffExample {
  /** The role the example files for. */
  role: string;
  title: string;
  description: string;
  payload: Record<string, string>;
}

/** Starting settings and prompt wording of one scaffolded role. */
export interface RolePreset {
  dailyCapUsd: number;
  dispatchReservationUsd: number;
  allowedTools: readonly string[];
  /** One paragraph: what the role produces and where it stops. */
  mission: string;
  /** Bullets of what the role reads before it starts (without the leading "- "). */
  readFirst: readonly string[];
  /** Role-specific hard rules, as bullets. */
  hardRules: readonly string[];
  /** What one dispatch delivers, as bullets. */
  output: readonly string[];
  /** `kind` of the decisions this role records. */
  decisionKind: string;
  /** Kickoff task of the seed example for this role. */
  seed: { title: string; description: string };
}

/** A preset plus whom it hands work to. */
interface KnownRole extends RolePreset {
  /** Roles this one hands off to, best first; the first one present in the project wins. */
  handsOffTo: readonly string[];
  /** The follow-up example, for whichever role it ends up handing off to. */
  handOff: (to: string) => Omit<HandOffExample, "role">;
}

const KNOWN: Readonly<Record<string, KnownRole>> = {
  producer: {
    dailyCapUsd: 5,
    dispatchReservationUsd: 0.05,
    allowedTools: ["Read", "Glob", "Grep", "Bash"],
    mission:
      "You plan and steer. You turn the project goal and the humans' notes into small, concrete tasks for the specialist roles, keep the queue ordered, and look after escalated work. You do not write specs, code or tests yourself: you decide what comes next and who does it.",
    readFirst: [
      "The project goal and milestone notes (TODO: name the file, e.g. docs/goal.md).",
      "What is already queued: `mcp__ledger__list_tasks` with status pending, then in_progress.",
      "The latest morning report under agent-state/, for what shipped, failed or escalated.",
    ],
    hardRules: [
      "Never file a task without a clear definition of done in its description.",
      "Never raise budgets, edit producer.yaml or re-queue escalated work: those are human calls. Record what you recommend instead.",
    ],
    output: [
      "A short plan recorded as a decision, and the tasks that carry it out, filed in the ledger.",
      "At most a handful of tasks per dispatch: small tasks fail less and cost less to retry.",
    ],
    decisionKind: "scope",
    seed: {
      title: "Turn the project goal into a first milestone",
      description:
        "Read the project goal, choose the smallest milestone that shows real progress, and record it as a decision. The next tasks of the example pick it up from there.",
    },
    handsOffTo: ["design", "code"],
    handOff: (to): Omit<HandOffExample, "role"> =>
      to === "design"
        ? {
            title: "Write the spec for the first feature of milestone M1",
            description:
              "One page under docs/specs/: what the user sees, edge cases, and numbered acceptance checks that code builds to and QA tests against.",
            payload: { milestone: "M1", spec_path: "docs/specs/first-feature.md" },
          }
        : {
            title: `Do the ${to} work for the first feature of milestone M1`,
            description: `Say what the ${to} role must deliver and what done looks like, in a few sentences.`,
            payload: { milestone: "M1" },
          },
  },
  design: {
    dailyCapUsd: 10,
    dispatchReservationUsd: 0.1,
    allowedTools: ["Read", "Write", "Edit", "Glob", "Grep"],
    mission:
      "You turn a feature idea into a spec that others can build and test without asking you anything: behaviour, layout, edge cases and acceptance checks. You do not write production code or tests.",
    readFirst: [
      "The existing specs under docs/specs/, so the new one matches their shape and vocabulary.",
      "TODO: the style guide, brand notes or reference material this project's design follows.",
    ],
    hardRules: [
      "Every spec ends with numbered acceptance checks that a tester can verify one by one.",
      "Scope changes that affect money, legal text or what users are promised go to a human: record the question as a decision and stop.",
    ],
    output: [
      "One spec file per dispatch under docs/specs/, named after the feature (kebab-case).",
      "Register the spec with `mcp__ledger__register_asset` (kind: spec).",
    ],
    decisionKind: "design",
    seed: {
      title: "Write the spec for the first feature",
      description:
        "Save it as docs/specs/first-feature.md: what the user sees, edge cases, and numbered acceptance checks. Register it as an asset.",
    },
    handsOffTo: ["code"],
    handOff: () => ({
      title: "Implement the first feature from docs/specs/first-feature.md",
      description:
        "Build what the spec describes; its acceptance checks are the definition of done. Add tests for them.",
      payload: { spec_path: "docs/specs/first-feature.md" },
    }),
  },
  code: {
    dailyCapUsd: 20,
    dispatchReservationUsd: 0.2,
    allowedTools: ["Read", "Edit", "Write", "Glob", "Grep", "Bash"],
    mission:
      "You implement specified work in the codebase, with tests, in the project's existing style. You do not change specs: when a spec is wrong or unclear, you record the problem and file it back to whoever wrote it.",
    readFirst: [
      "The spec named in the payload (spec_path), all of it, before touching code.",
      "The code around the change, to follow its idioms, naming and error handling.",
      "TODO: how to build, lint and test this project (the exact commands).",
    ],
    hardRules: [
      "The build, the linter and the tests pass before you stop; never disable a failing test to get there.",
      "No new dependency, database migration or change to CI without a human: record the need as a decision and stop.",
      "TODO: language and tool versions, formatting rules, folder layout.",
    ],
    output: [
      "One coherent change per dispatch: the feature or fix of this task and its tests, nothing unrelated.",
      "Register each new or substantially changed file with `mcp__ledger__register_asset` (kind: code or test).",
    ],
    decisionKind: "implementation",
    seed: {
      title: "Implement the first feature from its spec",
      description:
        "Follow docs/specs/first-feature.md. Its acceptance checks are the definition of done; add tests for each of them.",
    },
    handsOffTo: ["qa"],
    handOff: () => ({
      title: "Test the first feature against docs/specs/first-feature.md",
      description:
        "Check every acceptance check of the spec on the built project; file a fix task for each one that fails.",
      payload: { spec_path: "docs/specs/first-feature.md", changed: "src/first-feature/" },
    }),
  },
  art: {
    dailyCapUsd: 10,
    dispatchReservationUsd: 0.1,
    allowedTools: ["Read", "Write", "Edit", "Glob", "Grep", "Bash"],
    mission:
      "You make the visual assets a spec asks for (icons, images, layouts), in the project's style and formats, ready for code to use. You do not change specs or code.",
    readFirst: [
      "The spec named in the payload, and its list of needed assets in particular.",
      "TODO: the style guide, palette and existing assets this project's art follows.",
    ],
    hardRules: [
      "Deliver in the formats and sizes the spec names; never overwrite an asset you were not asked to replace.",
      "Nothing under a license the project has not approved: record the question for a human instead.",
    ],
    output: [
      "The assets of this task under assets/, named after the feature, each registered with `mcp__ledger__register_asset` (kind: image).",
    ],
    decisionKind: "art",
    seed: {
      title: "Draw the assets the first feature needs",
      description:
        "Follow the asset list of docs/specs/first-feature.md. Save them under assets/first-feature/ and register each file.",
    },
    handsOffTo: ["code"],
    handOff: () => ({
      title: "Use the new first-feature assets in place of the placeholders",
      description:
        "The assets are under assets/first-feature/; swap out the placeholders and check that they show at every size.",
      payload: { assets_dir: "assets/first-feature/", spec_path: "docs/specs/first-feature.md" },
    }),
  },
  qa: {
    dailyCapUsd: 10,
    dispatchReservationUsd: 0.1,
    allowedTools: ["Read", "Glob", "Grep", "Bash", "Write"],
    mission:
      "You check finished work against its spec, the way a user would meet it, and report exactly what passes and what does not. You do not fix what you find: you file it for the role that owns it.",
    readFirst: [
      "The spec named in the payload, and its acceptance checks in particular.",
      "The task that delivered the work (its parent), to see what changed: `mcp__ledger__get_task`.",
      "TODO: how to build and run the project, and where test reports go.",
    ],
    hardRules: [
      "Test what was built, not what the code says it does: run it.",
      "Never edit production code or specs; write only test reports and test files.",
    ],
    output: [
      "One test report per dispatch under docs/qa/, one line per acceptance check: pass or fail, with the evidence.",
      "Register the report with `mcp__ledger__register_asset` (kind: test-report).",
    ],
    decisionKind: "verification",
    seed: {
      title: "Test the first feature against its spec",
      description:
        "Check every acceptance check of docs/specs/first-feature.md on the built project and write the report under docs/qa/.",
    },
    handsOffTo: ["code"],
    handOff: () => ({
      title: "Fix: the first feature fails acceptance check 3",
      description:
        "Describe the failure: the steps, what was expected, what happened. Link the report.",
      payload: {
        spec_path: "docs/specs/first-feature.md",
        report: "docs/qa/first-feature.md",
        failing_check: "3",
      },
    }),
  },
};

/** Wording for a role the presets do not know; TODO lines mark what only the user can say. */
function genericRole(role: string): KnownRole {
  return {
    dailyCapUsd: 10,
    dispatchReservationUsd: 0.1,
    allowedTools: ["Read", "Write", "Edit", "Glob", "Grep"],
    mission: `You are the ${role} specialist of this project. TODO: say in two or three sentences what the ${role} role produces, and what it leaves to the other roles.`,
    readFirst: [
      `TODO: the files, specs or references the ${role} role must read before it starts.`,
    ],
    hardRules: [
      `TODO: the conventions ${role} work must follow, and the calls it must leave to a human.`,
    ],
    output: [`TODO: what one ${role} deliverable is, where it is saved and how it is named.`],
    decisionKind: role,
    seed: {
      title: `Produce the first ${role} deliverable`,
      description: `TODO: describe a first piece of ${role} work that is small enough for one dispatch.`,
    },
    handsOffTo: [],
    handOff: (to) => ({
      title: `Take over the ${role} deliverable and do the ${to} part`,
      description: `Say what the ${to} role must do with what you produced, and what done looks like.`,
      payload: { from_role: role, deliverable: `TODO: path of the ${role} deliverable` },
    }),
  };
}

/** One role as scaffolded: its preset and the concrete hand-off its prompt shows. */
export interface ScaffoldRole extends RolePreset {
  name: string;
  handOff: HandOffExample;
}

/**
 * The presets of `roles`, in order. Each role hands off to its preferred next role when the
 * project has it, else to the role after it in the list (the last one back to the first), so
 * the example in every prompt names a role that really exists.
 */
export function scaffoldRoles(roles: readonly string[]): ScaffoldRole[] {
  return roles.map((name, index) => {
    const known = KNOWN[name] ?? genericRole(name);
    const next =
      known.handsOffTo.find((r) => r !== name && roles.includes(r)) ??
      roles[(index + 1) % roles.length] ??
      name;
    const { handsOffTo: _preferred, handOff, ...preset } = known;
    return { ...preset, name, handOff: { role: next, ...handOff(next) } };
  });
}

/**
 * Reads `--roles a,b,c`: names trimmed, blanks and repeats dropped, each checked with the
 * rule producer.yaml applies, so the scaffolded file always loads.
 *
 * @throws UsageError naming every bad role, or when no role is left.
 */
export function parseRoles(value: string | undefined): string[] {
  if (value === undefined) return [...DEFAULT_ROLES];
  const names = [
    ...new Set(
      value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (names.length === 0) {
    throw new UsageError("--roles needs at least one role name, e.g. --roles design,code,qa");
  }
  const bad = names.filter((name) => !ROLE_NAME_PATTERN.test(name));
  if (bad.length > 0) {
    const shown = bad.map((name) => JSON.stringify(name)).join(", ");
    throw new UsageError(`--roles: ${shown}: ${ROLE_NAME_RULE}`);
  }
  return names;
}
