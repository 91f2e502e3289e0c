/**
 * The producer.yaml `producer init` writes: every key group present with a short comment, so
 * the file doubles as the reference a user edits from. Values come from DEFAULTS, so the
 * scaffold and the loader never disagree about a default.
 */
import { stringify } from "yaml";
import { DEFAULTS } from "../config/schema.js";
import type { ScaffoldRole } from "./roles.js";

/** The wizard's answers (or their non-interactive defaults). */
export interface InitAnswers {
  projectName: string;
  /** "" turns push notifications off. */
  ntfyTopic: string;
  subjectPrefix: string;
  /** A PostgreSQL ledger (`--ledger-url`) instead of the SQLite file; no password in it. */
  ledgerUrl?: string;
}

/** One YAML scalar, quoted only when YAML needs it. */
function scalar(value: string | number): string {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

const list = (items: readonly string[]) => `[${items.map(scalar).join(", ")}]`;

/** The relative path of a role's prompt, as producer.yaml names it. */
export const promptPath = (role: string) => `agents/${role}/system_prompt.md`;

function roleBlock(role: ScaffoldRole): string {
  return [
    `  ${role.name}:`,
    `    daily_cap_usd: ${role.dailyCapUsd}`,
    `    dispatch_reservation_usd: ${role.dispatchReservationUsd}`,
    `    allowed_tools: ${list(role.allowedTools)}`,
    `    prompt: ${promptPath(role.name)}`,
    `    model: ${scalar(DEFAULTS.role.model)}`,
  ].join("\n");
}

/** Where the ledger lives: the SQLite file by default, a PostgreSQL schema when given. */
function ledgerLine(answers: InitAnswers, state: string): string {
  return answers.ledgerUrl
    ? `ledger_url: ${scalar(answers.ledgerUrl)}  # the shared task ledger (password: PGPASSWORD in the environment)`
    : `ledger_db: ${state}/${DEFAULTS.ledgerFile}  # the SQLite task ledger every agent writes to`;
}

/** The text of producer.yaml. */
export function renderConfig(answers: InitAnswers, roles: readonly ScaffoldRole[]): string {
  const state = DEFAULTS.agentStateDir;
  return `# producer.yaml: the team, its budget and its brake. Read once when \`producer run\` starts,
# so restart the Producer after an edit. Paths are relative to project_root.

# Shown in dispatch prompts, report headers and (by default) notification titles.
project_name: ${scalar(answers.projectName)}
# The folder every path below starts from; "." is the folder of this file.
project_root: ${scalar(DEFAULTS.projectRoot)}

# Runtime state, git-ignored. The four paths under it are the defaults, spelled out.
agent_state_dir: ${state}
kill_switch: ${state}/${DEFAULTS.killSwitchFile}  # present = halted: producer kill / producer resume
${ledgerLine(answers, state)}
escalations_dir: ${state}/${DEFAULTS.escalationsFolder}  # one file per task that ran out of retries
reports_dir: ${state}  # morning-report-YYYYMMDD.md

# The loop: look for work every poll_interval_seconds; when nothing could be dispatched for
# idle_threshold_polls x poll_interval_seconds (2 min by default), tell a human once.
poll_interval_seconds: ${DEFAULTS.pollIntervalSeconds}
idle_threshold_polls: ${DEFAULTS.idleThresholdPolls}
report_interval_hours: ${DEFAULTS.reportIntervalHours}  # a morning report this often during producer run
max_concurrent_dispatches: ${DEFAULTS.maxConcurrentDispatches}  # agent calls in flight at once, all roles together

# A failed task is retried after backoff_seconds, then twice that, and so on; past
# max_retries it is escalated to a human (agent-state/escalations/<task id>.md).
retry:
  max_retries: ${DEFAULTS.maxRetries}
  backoff_seconds: ${DEFAULTS.backoffSeconds}

# Notices always land in agent-state/needs-attention.md. A topic adds pushes to your phone
# through ntfy; anyone who knows a topic's name can read it, so keep the name hard to guess.
notifications:
  ntfy_topic: ${scalar(answers.ntfyTopic)}  # "" = no push
  ntfy_server: ${scalar(DEFAULTS.ntfyServer)}  # or a self-hosted server; its token goes in env NTFY_TOKEN
  subject_prefix: ${scalar(answers.subjectPrefix)}

# Spend per UTC day. A dispatch that could pass a cap is refused before it starts.
budget:
  project_ceiling_usd: ${DEFAULTS.projectCeilingUsd}  # all roles together
  soft_cap_ratio: ${DEFAULTS.softCapRatio}  # warn once per role per day at this share of its cap
  forecast_warning_minutes: ${DEFAULTS.forecastWarningMinutes}  # push when a role's cap is this near at its burn rate (0 = off)

# How Claude dispatches log in: auto (an API key if there is one, else your Claude login),
# api (ANTHROPIC_API_KEY, in the environment or .env), subscription, or inherit (your own
# Claude Code setup, plugins included). Env PRODUCER_AUTH_MODE overrides it. Agents are
# offered only their allowed_tools in every mode; bypass_permissions skips Claude Code's
# permission checks (the project's control files stay out of reach either way).
auth:
  mode: ${DEFAULTS.authMode}
  bypass_permissions: false

# Brakes on runaway agents: how deep chains of filed tasks may go, how many follow-ups one
# task may file, and how many tasks one role may file per hour.
guardrails:
  max_depth: ${DEFAULTS.maxDepth}
  max_children_per_task: ${DEFAULTS.maxChildrenPerTask}
  max_tasks_per_role_per_hour: ${DEFAULTS.maxTasksPerRolePerHour}

# Prices come bundled with ai-producer; \`producer pricing update\` writes a local override to
# agent-state/pricing.json (pricing.override_file and pricing.update_source change that).

# The team. Tasks are filed to a role by its name (producer task add --agent code ...).
#   daily_cap_usd             hard cap on the role's spend per UTC day
#   dispatch_reservation_usd  held back before each call, settled after it; the producer
#                             role's is the fallback for roles that leave it out
#   allowed_tools             Claude Code tools the agent may use without asking
#   prompt                    the role's standing instructions
#   model                     the Claude model its dispatches use
# Optional per role: max_concurrent (${DEFAULTS.role.maxConcurrent}), timeout_minutes (${DEFAULTS.role.timeoutMinutes}), max_turns (${DEFAULTS.role.maxTurns}),
# runtime (claude, or exec with command: [program, args...] to run any other agent CLI).
agents:
${roles.map(roleBlock).join("\n")}
`;
}
