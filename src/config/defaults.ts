// A module of its own, apart from the schema, so that code needing only a default (the config
// cache looks for its file under the default agent_state_dir) does not load zod.

/**
 * Every static default in one place. Paths are relative to project_root; the runtime files
 * (kill switch, ledger, escalations, reports, price override) default to places inside
 * agent_state_dir, so moving that one folder moves them all.
 */
export const DEFAULTS = {
  projectRoot: ".",
  agentStateDir: "agent-state",
  killSwitchFile: "kill_switch",
  ledgerFile: "ledger.db",
  escalationsFolder: "escalations",
  pricingFile: "pricing.json",
  pollIntervalSeconds: 10,
  idleThresholdPolls: 12,
  reportIntervalHours: 6,
  maxConcurrentDispatches: 1,
  leaseSeconds: 30,
  ntfyTopic: "",
  ntfyServer: "https://ntfy.sh",
  projectCeilingUsd: 200,
  softCapRatio: 0.8,
  forecastWarningMinutes: 60,
  authMode: "auto",
  maxRetries: 3,
  backoffSeconds: 30,
  apiWaitSeconds: 60,
  maxDepth: 20,
  maxChildrenPerTask: 50,
  maxTasksPerRolePerHour: 500,
  pricingUpdateSource:
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
  role: {
    allowedTools: ["Read", "Glob", "Grep"],
    maxConcurrent: 1,
    timeoutMinutes: 30,
    model: "claude-sonnet-5-5",
    maxTurns: 30,
    runtime: "claude",
  },
} as const;
