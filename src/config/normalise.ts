/**
 * Validated snake_case YAML -> the camelCase ProducerConfig the rest of the code uses: derived
 * defaults filled in and every path made absolute against project_root.
 */
import { basename, dirname, join, resolve } from "node:path";
import { DEFAULTS } from "./defaults.js";
import type { ProducerYaml } from "./schema.js";
import type { AuthMode, ProducerConfig, RoleConfig } from "./types.js";

type RoleYaml = ProducerYaml["agents"][string];

/** A URL stays as written; anything else is a file path under the project. */
function sourceOrPath(projectRoot: string, source: string): string {
  return /^[a-z][a-z\d+.-]*:\/\//i.test(source) ? source : resolve(projectRoot, source);
}

function normaliseRole(name: string, role: RoleYaml, projectRoot: string): RoleConfig {
  return {
    name,
    dailyCapUsd: role.daily_cap_usd,
    dispatchReservationUsd: role.dispatch_reservation_usd ?? null,
    allowedTools: role.allowed_tools,
    env: role.env,
    prompt: resolve(projectRoot, role.prompt ?? join("agents", name, "system_prompt.md")),
    promptRequired: role.runtime !== "exec" || role.prompt !== undefined,
    maxConcurrent: role.max_concurrent,
    timeoutMinutes: role.timeout_minutes,
    model: role.model,
    maxTurns: role.max_turns,
    runtime: role.runtime,
    command: role.runtime === "exec" ? (role.command ?? null) : null,
    requiresApproval:
      typeof role.requires_approval === "object"
        ? { aboveUsd: role.requires_approval.above_usd }
        : (role.requires_approval ?? false),
  };
}

/**
 * Builds the ProducerConfig. `configPath` must be absolute; `authMode` is the effective mode
 * (the env override already applied); `ledgerUrl` is `PRODUCER_LEDGER_URL`, which wins over
 * the file's `ledger_url` (and may carry a password: the environment is where it belongs).
 */
export function normalise(
  yaml: ProducerYaml,
  configPath: string,
  authMode: AuthMode,
  ledgerUrl?: string,
): ProducerConfig {
  const projectRoot = resolve(dirname(configPath), yaml.project_root);
  const at = (path: string) => resolve(projectRoot, path);
  const agentStateDir = at(yaml.agent_state_dir);
  const projectName = yaml.project_name ?? basename(projectRoot);
  const agents: Record<string, RoleConfig> = {};
  for (const [name, role] of Object.entries(yaml.agents)) {
    agents[name] = normaliseRole(name, role, projectRoot);
  }

  return {
    configPath,
    projectName,
    projectRoot,
    agentStateDir,
    killSwitch: yaml.kill_switch
      ? at(yaml.kill_switch)
      : join(agentStateDir, DEFAULTS.killSwitchFile),
    ledgerDb: yaml.ledger_db ? at(yaml.ledger_db) : join(agentStateDir, DEFAULTS.ledgerFile),
    ledgerUrl: ledgerUrl ?? yaml.ledger_url ?? null,
    escalationsDir: yaml.escalations_dir
      ? at(yaml.escalations_dir)
      : join(agentStateDir, DEFAULTS.escalationsFolder),
    reportsDir: yaml.reports_dir ? at(yaml.reports_dir) : agentStateDir,
    pollIntervalSeconds: yaml.poll_interval_seconds,
    idleThresholdPolls: yaml.idle_threshold_polls,
    reportIntervalHours: yaml.report_interval_hours,
    maxConcurrentDispatches: yaml.max_concurrent_dispatches,
    leaseSeconds: yaml.lease_seconds,
    notifications: {
      ntfyTopic: yaml.notifications.ntfy_topic,
      // Trailing slashes dropped so `${server}/${topic}` never doubles them.
      ntfyServer: yaml.notifications.ntfy_server.replace(/\/+$/, ""),
      subjectPrefix: yaml.notifications.subject_prefix ?? projectName,
    },
    budget: {
      projectCeilingUsd: yaml.budget.project_ceiling_usd,
      softCapRatio: yaml.budget.soft_cap_ratio,
      forecastWarningMinutes: yaml.budget.forecast_warning_minutes,
    },
    auth: { mode: authMode, bypassPermissions: yaml.auth.bypass_permissions },
    retry: {
      maxRetries: yaml.retry.max_retries,
      backoffSeconds: yaml.retry.backoff_seconds,
      apiWaitSeconds: yaml.retry.api_wait_seconds,
    },
    guardrails: {
      maxDepth: yaml.guardrails.max_depth,
      maxChildrenPerTask: yaml.guardrails.max_children_per_task,
      maxTasksPerRolePerHour: yaml.guardrails.max_tasks_per_role_per_hour,
    },
    pricing: {
      overrideFile: yaml.pricing.override_file
        ? at(yaml.pricing.override_file)
        : join(agentStateDir, DEFAULTS.pricingFile),
      updateSource: sourceOrPath(projectRoot, yaml.pricing.update_source),
    },
    agents,
  };
}
