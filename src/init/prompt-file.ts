/**
 * A role's `agents/<role>/system_prompt.md`, filled in from the agent prompt template that
 * ships with the package (`templates/agent_prompt_template.md`).
 */
import { readFileSync } from "node:fs";
import { packagePath } from "../package-files.js";
import type { ScaffoldRole } from "./roles.js";

/** The shipped template. */
export const PROMPT_TEMPLATE_PATH = packagePath("templates", "agent_prompt_template.md");

/** The template's own notes, for whoever reads the file in the package; not for agents. */
const TEMPLATE_NOTES = /^<!-- template[\s\S]*?-->\s*/;

/**
 * Replaces every `{{name}}` in `template`. A placeholder without a value is a bug in this
 * package, never something a user can cause, so it throws rather than leave braces behind.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(TEMPLATE_NOTES, "").replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`agent prompt template: no value for {{${name}}}`);
    return value;
  });
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** List items after the template's own first "- ", which stays there for Markdown formatters. */
const bullets = (lines: readonly string[]) => lines.join("\n- ");

/** The `mcp__ledger__insert_task` call of a role's hand-off, as the agent would write it. */
function insertTaskExample(role: ScaffoldRole): string {
  const args = {
    agent_owner: role.handOff.role,
    title: role.handOff.title,
    description: role.handOff.description,
    payload: role.handOff.payload,
    priority: 5,
  };
  return `mcp__ledger__insert_task(${JSON.stringify(args, null, 2)})`;
}

/** The same hand-off through the CLI. */
function taskAddExample(role: ScaffoldRole): string {
  const { handOff } = role;
  return [
    `producer task add --agent ${shellQuote(handOff.role)}`,
    `  --title ${shellQuote(handOff.title)}`,
    `  --description ${shellQuote(handOff.description)}`,
  ].join(" \\\n");
}

/** The text of `agents/<role>/system_prompt.md` for one role. */
export function renderSystemPrompt(
  role: ScaffoldRole,
  projectName: string,
  template = readFileSync(PROMPT_TEMPLATE_PATH, "utf8"),
): string {
  return fillTemplate(template, {
    role: role.name,
    project_name: projectName,
    mission: role.mission,
    read_first: bullets(role.readFirst),
    hard_rules: bullets(role.hardRules),
    output: bullets(role.output),
    decision_kind: role.decisionKind,
    next_role: role.handOff.role,
    insert_task_example: insertTaskExample(role),
    task_add_example: taskAddExample(role),
  });
}
