/**
 * The loaded, validated and normalised form of producer.yaml. YAML keys are snake_case; here
 * they are camelCase, every default is filled in and every path is absolute.
 */

/** How Claude dispatches authenticate; see the README's "Auth modes". */
export type AuthMode = "auto" | "api" | "subscription" | "inherit";

/** Which runtime hands a task to the role's agent. */
export type RuntimeKind = "claude" | "exec";

/** One specialist role (`agents.<role>` in producer.yaml). */
export interface RoleConfig {
  /** The role name, the key under `agents`. */
  name: string;
  /** Daily spend cap for this role in USD (UTC day). */
  dailyCapUsd: number;
  /** Reserved before each dispatch; null falls back to the `producer` role's, then $0.05. */
  dispatchReservationUsd: number | null;
  /** The built-in tools a Claude agent is offered (and may use without asking). */
  allowedTools: string[];
  /**
   * Names of the Producer's environment variables this role's agents may see beyond the
   * default allowlist (PATH, HOME, locale, TMPDIR, TERM, PRODUCER_*): e.g. GITHUB_TOKEN.
   */
  env: string[];
  /** Absolute path of the role's standing system prompt. */
  prompt: string;
  /**
   * Whether the role cannot run without that file: a Claude role always needs one; an exec
   * role only when producer.yaml names one (its own program may carry its instructions).
   */
  promptRequired: boolean;
  /** At most this many of the role's tasks run at once. */
  maxConcurrent: number;
  /** Wall-clock bound of one dispatch. */
  timeoutMinutes: number;
  /** Model id for Claude dispatches. */
  model: string;
  /** Turn limit of one Claude dispatch. */
  maxTurns: number;
  runtime: RuntimeKind;
  /** argv of the exec runtime; null for `runtime: claude`. */
  command: string[] | null;
  /**
   * `requires_approval`: whether the role's new tasks wait for a human's sign-off: always
   * (true), never (false), or when a call's estimated cost (see config/approval.ts) is above
   * `aboveUsd`.
   */
  requiresApproval: boolean | { aboveUsd: number };
}

/** `budget:` — the project-wide ceiling and the soft-cap warning ratio. */
export interface BudgetConfig {
  /** Hard ceiling on the whole project's spend per UTC day, USD. */
  projectCeilingUsd: number;
  /** Fraction of a cap at which a one-time warning is raised (0 < r <= 1). */
  softCapRatio: number;
  /**
   * A role whose daily cap is forecast to be reached within this many minutes (at its current
   * burn rate) is pushed a `cap_forecast` notification, once per UTC day; 0 turns it off.
   */
  forecastWarningMinutes: number;
}

/** `notifications:` — the file marker is always written; ntfy only with a topic. */
export interface NotificationsConfig {
  /** ntfy topic; "" disables push notifications. */
  ntfyTopic: string;
  /** Base URL of the ntfy server (self-hosted works). */
  ntfyServer: string;
  /** Prefix of every notification title. */
  subjectPrefix: string;
}

/** `retry:` — how failed dispatches are retried before escalation. */
export interface RetryConfig {
  /** Retries after the first failure; past this the task is escalated. */
  maxRetries: number;
  /** Base of the exponential backoff: retry n waits backoffSeconds * 2^(n-1). */
  backoffSeconds: number;
  /**
   * How long a Claude call may keep retrying an API it cannot reach (or that keeps failing)
   * before it ends as a failed attempt, which the retries above then take over; also how
   * long each request waits for the API's answer to start (the CLI's API_TIMEOUT_MS, unless
   * the environment sets that).
   */
  apiWaitSeconds: number;
}

/** `guardrails:` — limits on agent-filed work, against runaway agents. */
export interface GuardrailsConfig {
  /** Longest allowed parent chain (a root task has depth 0). */
  maxDepth: number;
  /** Most children one task may file. */
  maxChildrenPerTask: number;
  /** Most tasks one role may file per rolling hour. */
  maxTasksPerRolePerHour: number;
}

/** `pricing:` — where price overrides live and where `pricing update` fetches from. */
export interface PricingConfig {
  /** Absolute path of the project-local price override written by `producer pricing update`. */
  overrideFile: string;
  /** Default source URL (or file) for `producer pricing update`. */
  updateSource: string;
}

/** `auth:` — see {@link AuthMode}. */
export interface AuthConfig {
  mode: AuthMode;
  /**
   * Run Claude agents with Claude Code's permission checks bypassed (`bypassPermissions`).
   * Off by default. Even on, agents are offered only their role's `allowed_tools` plus the
   * ledger tools, and writes to the project's protected files are still refused.
   */
  bypassPermissions: boolean;
}

/** The whole of producer.yaml, validated and normalised. */
export interface ProducerConfig {
  /** Absolute path of the producer.yaml this was loaded from. */
  configPath: string;
  projectName: string;
  /** Absolute; every other path resolves against it. */
  projectRoot: string;
  /** Absolute path of the runtime-state folder (isolated Claude config dirs live here). */
  agentStateDir: string;
  killSwitch: string;
  ledgerDb: string;
  /**
   * A PostgreSQL ledger (`ledger_url`, or `PRODUCER_LEDGER_URL` over it): when set, the ledger
   * lives there and `ledgerDb` is not used.
   */
  ledgerUrl: string | null;
  escalationsDir: string;
  reportsDir: string;
  pollIntervalSeconds: number;
  /**
   * Idle after this many poll intervals of time with nothing to dispatch (measured in time on
   * the clock, not by counting polls: the loop also wakes early when the ledger changes).
   */
  idleThresholdPolls: number;
  reportIntervalHours: number;
  maxConcurrentDispatches: number;
  /** Length of a claim's lease; a heartbeat renews it while the call runs. */
  leaseSeconds: number;
  notifications: NotificationsConfig;
  budget: BudgetConfig;
  auth: AuthConfig;
  retry: RetryConfig;
  guardrails: GuardrailsConfig;
  pricing: PricingConfig;
  /** The roles, keyed by name, in file order. */
  agents: Record<string, RoleConfig>;
}
