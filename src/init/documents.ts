/**
 * The smaller files of a new project: ONBOARDING.md, the CLAUDE.md pointer to it, the seed
 * example, .env.example and the .gitignore lines. The last three may meet files the user
 * already has, so they come with "merge" helpers that only add what is missing.
 */
import { EXAMPLE_SEED_ROLES, EXAMPLE_SEED_TASKS, type SeedTask } from "../seed/seed-file.js";
import type { InitAnswers } from "./config-file.js";
import type { ScaffoldRole } from "./roles.js";

/** The brief `claude` reads when it starts in the project. */
export const ONBOARDING_FILE = "ONBOARDING.md";

/** What `producer init` asks `claude` when it hands over. */
export const ONBOARDING_REQUEST = `Read ${ONBOARDING_FILE} and help me design the agents of this project.`;

/** The seed example's file name. */
export const SEED_EXAMPLE_FILE = "seed_tasks.example.json";

/**
 * The seed example. The task command's own example is used when the project has every role it
 * names; otherwise (the default team has no art role) a chain through the project's own
 * roles, one kickoff task each, so `producer task import` takes the file as it is.
 */
export function seedExample(roles: readonly ScaffoldRole[]): readonly SeedTask[] {
  const names = roles.map((r) => r.name);
  if (EXAMPLE_SEED_ROLES.every((role) => names.includes(role))) return EXAMPLE_SEED_TASKS;
  return roles.map((role, index) => {
    const previous = roles[index - 1];
    return {
      ref: role.name,
      agent: role.name,
      title: role.seed.title,
      description: role.seed.description,
      priority: index === 0 ? 3 : 5,
      ...(previous ? { depends_on: [previous.name] } : {}),
      payload: { milestone: "M1" },
    };
  });
}

/** The text of seed_tasks.example.json. */
export function renderSeedExample(roles: readonly ScaffoldRole[]): string {
  return `${JSON.stringify(seedExample(roles), null, 2)}\n`;
}

/** The text of ONBOARDING.md: a brief for a Claude Code session, not for the user. */
export function renderOnboarding(answers: InitAnswers, roles: readonly ScaffoldRole[]): string {
  const roleLines = roles
    .map((r) => `  - \`${r.name}\`: $${r.dailyCapUsd}/day, \`agents/${r.name}/system_prompt.md\``)
    .join("\n");
  const first = roles[0]?.name ?? "code";
  const push = answers.ntfyTopic
    ? `ntfy topic \`${answers.ntfyTopic}\``
    : "no ntfy topic yet (push notifications are off)";
  return `# Onboarding brief: ${answers.projectName}

This brief is for you, the Claude Code session running in this folder. \`producer init\` has
just scaffolded an ai-producer project here; your job is to help the user turn the scaffold
into a team of agents that can work without them. Talk with the user and ask before you
write; they know the project, you know how these files fit together.

## What ai-producer is

A long-running Producer process (\`producer run\`) takes tasks from a SQLite ledger and hands
each one to the agent of the role that owns it, through the Claude Agent SDK. An agent does
its one task, records its decisions, registers the files it made, and files the follow-up
tasks for the next roles, so the queue keeps itself going with no human in the middle. Every
role has a daily dollar cap and the project has a daily ceiling; a dispatch that could pass
one is refused before it starts. A kill switch (\`producer kill "reason"\`) stops everything.

## The files

- \`producer.yaml\`: project settings and the team. Now: ${push}; roles:
${roleLines}
- \`agents/<role>/system_prompt.md\`: each role's standing instructions, in seven sections
  (mission, what to read first, hard rules, output discipline, ledger discipline, queue
  self-replenishment, stop condition). They are scaffolds: TODO lines mark what only the user
  can say. The Producer puts each task's own prompt (id, title, description, payload and an
  operating contract) above this text at dispatch.
- \`seed_tasks.example.json\`: example first tasks for \`producer task import\`.
- \`.env.example\`: the environment the Producer uses (API key, ntfy token, auth mode).
- \`agent-state/\`: the ledger, kill switch, escalations and reports. Git-ignored; never edit
  or delete it by hand.
- \`CLAUDE.md\`: points Claude Code at this brief.

## How to help, step by step

1. Ask what the project should produce, what "done" looks like for a first milestone, and
   which decisions a human must keep (money, credentials, releases, legal text).
2. Propose the roles. Each role owns one kind of deliverable and hands it to another role.
   Add, rename or remove roles under \`agents:\` in producer.yaml (names: lowercase letters,
   digits, "_" or "-"), each with its own prompt file. Agree daily caps with the user.
3. Write each role's prompt with the user, section by section. Replace every TODO with the
   project's real paths, commands and conventions. Section 6 matters most: it must name, with
   a concrete \`mcp__ledger__insert_task\` example, what this role files for which next role.
   A role that files nothing stalls the team.
4. Replace the seed example with the project's real first tasks.
5. Check the configuration loads: \`producer status\` names every problem in producer.yaml.

## Trying it

Dispatches spend real money: ask the user before each run, and start small.

1. Authentication: \`ANTHROPIC_API_KEY\` in the environment or in \`.env\` (copy
   \`.env.example\`), or a Claude login on this machine (see auth.mode in producer.yaml).
2. File one small task:
   \`producer task add --agent ${first} --title "..." --description "..."\`
   or the seed file: \`producer task import seed_tasks.example.json\`.
3. Drain the queue once: \`producer run --once\`. It dispatches until nothing is claimable,
   including the tasks the agents file on the way, then stops.
4. Look at the outcome together: \`producer task list\`, \`producer status\`, \`producer report\`
   (writes a morning report under agent-state/), or the dashboard, \`producer ui\`.
5. Tighten the prompts where an agent guessed, wandered off or filed nothing, and try again.

When the team works, the user starts the long-lived loop with \`producer run\`. They may
then delete this file and its line in CLAUDE.md.
`;
}

/** The pointer to the brief; `@file` is Claude Code's import syntax, so the brief loads itself. */
const CLAUDE_MD_POINTER = `This is an ai-producer project: a team of AI agents working from a shared task ledger.
Until the team is set up, follow the onboarding brief:

@${ONBOARDING_FILE}
`;

/** The text of a new CLAUDE.md. */
export function renderClaudeMd(projectName: string): string {
  return `# ${projectName}\n\n${CLAUDE_MD_POINTER}`;
}

/**
 * What to write into an existing CLAUDE.md: null when it already mentions the brief (a second
 * `init`), else the pointer appended. The user's own instructions stay as they are.
 */
export function mergeClaudeMd(existing: string): string | null {
  if (existing.includes(ONBOARDING_FILE)) return null;
  return `${withFinalNewline(existing)}\n## ai-producer\n\n${CLAUDE_MD_POINTER}`;
}

/** Variables of .env.example, each with its comment; a commented-out key stays optional. */
const ENV_ENTRIES: readonly { key: string; lines: string }[] = [
  {
    key: "ANTHROPIC_API_KEY",
    lines:
      "# Claude API key, for auth.mode api (and auto). The Producer also reads it from .env.\nANTHROPIC_API_KEY=",
  },
  {
    key: "NTFY_TOKEN",
    lines:
      "# Access token of a protected ntfy server; read from the environment only.\nNTFY_TOKEN=",
  },
  {
    key: "PRODUCER_AUTH_MODE",
    lines:
      "# Overrides auth.mode of producer.yaml: auto, api, subscription or inherit.\n# PRODUCER_AUTH_MODE=",
  },
];

/** The text of a new .env.example. */
export function renderEnvExample(): string {
  return `# Copy to .env (git-ignored) and fill in what you use.\n\n${ENV_ENTRIES.map((e) => e.lines).join("\n\n")}\n`;
}

/**
 * What to write into an existing .env.example: the variables it does not mention yet
 * (set or commented out), or null when it has them all.
 */
export function mergeEnvExample(existing: string): { text: string; added: string[] } | null {
  const missing = ENV_ENTRIES.filter(
    (e) => !new RegExp(`^\\s*#?\\s*(export\\s+)?${e.key}=`, "m").test(existing),
  );
  if (missing.length === 0) return null;
  const text = `${withFinalNewline(existing)}\n# ai-producer\n${missing.map((e) => e.lines).join("\n")}\n`;
  return { text, added: missing.map((e) => e.key) };
}

/** Runtime state and secrets stay out of git. */
export const GITIGNORE_LINES: readonly string[] = ["agent-state/", ".env", "node_modules/"];

/**
 * What to write into .gitignore (`existing` null when there is none): the missing lines
 * appended, or null when every line is there already.
 */
export function mergeGitignore(existing: string | null): { text: string; added: string[] } | null {
  // `/agent-state`, `agent-state` and `agent-state/` all ignore the folder.
  const bare = (line: string) => line.trim().replace(/^\//, "").replace(/\/$/, "");
  const present = new Set((existing ?? "").split(/\r?\n/).map(bare));
  const added = GITIGNORE_LINES.filter((line) => !present.has(bare(line)));
  if (added.length === 0) return null;
  const block = `# ai-producer: runtime state, secrets and installed packages\n${added.join("\n")}\n`;
  const text = existing ? `${withFinalNewline(existing)}\n${block}` : block;
  return { text, added };
}

function withFinalNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}
