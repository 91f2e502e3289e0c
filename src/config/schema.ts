/**
 * The shape of producer.yaml as written (snake_case), with its static defaults. Defaults that
 * depend on other keys (project name, paths under agent_state_dir, a role's prompt path) are
 * filled in by `normalise.ts`, once the values they depend on are known to be valid.
 */
import { z } from "zod";
import { DEFAULTS } from "./defaults.js";
import { show } from "./messages.js";
import type { AuthMode, RuntimeKind } from "./types.js";

// Re-exported by name: DEFAULTS lived here first, and the init scaffolder imports it from here.
export { DEFAULTS };

/** Accepted values of `auth.mode` (and of env `PRODUCER_AUTH_MODE`). */
export const AUTH_MODES = [
  "auto",
  "api",
  "subscription",
  "inherit",
] as const satisfies readonly AuthMode[];

/** Accepted values of `agents.<role>.runtime`. */
export const RUNTIMES = ["claude", "exec"] as const satisfies readonly RuntimeKind[];

/** Role names appear in file names, CLI flags and env-like places, so they stay plain. */
export const ROLE_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,39}$/;

/** What {@link ROLE_NAME_PATTERN} allows, in words. */
export const ROLE_NAME_RULE =
  'invalid role name: use a lowercase letter first, then lowercase letters, digits, "_" or "-" (at most 40 characters)';

const positiveNumber = () => z.number().positive({ error: "must be a positive number" });
const nonNegativeNumber = () => z.number().gte(0, { error: "must be a number, 0 or more" });
const positiveInt = () => z.int().positive({ error: "must be a positive whole number" });
const intAtLeast = (min: number) =>
  z.int().gte(min, { error: `must be a whole number of at least ${min}` });
const text = () => z.string().min(1, { error: "must not be empty" });
const stringList = () =>
  z.array(z.string().min(1, { error: "must not be empty" }), {
    error: (issue) => `must be a list of strings, got ${show(issue.input)}`,
  });

/** ntfy's own topic rule; a topic it would reject fails at load, not at 3 a.m. */
const NTFY_TOPIC = /^[-\w]{0,64}$/;

const notifications = z.strictObject({
  ntfy_topic: z
    .string()
    .regex(NTFY_TOPIC, {
      error: 'must be up to 64 letters, digits, "_" or "-" ("" turns ntfy off)',
    })
    .default(DEFAULTS.ntfyTopic),
  ntfy_server: z
    .string()
    .refine((s) => /^https?:\/\//i.test(s) && URL.canParse(s), {
      error: "must be an http:// or https:// URL",
    })
    .default(DEFAULTS.ntfyServer),
  subject_prefix: z.string().optional(),
});

const budget = z.strictObject({
  project_ceiling_usd: positiveNumber().default(DEFAULTS.projectCeilingUsd),
  soft_cap_ratio: z
    .number()
    .gt(0, { error: "must be greater than 0 and at most 1" })
    .lte(1, { error: "must be greater than 0 and at most 1" })
    .default(DEFAULTS.softCapRatio),
  // 0 turns the forecast push off: the forecast is still shown, nobody is woken for it.
  forecast_warning_minutes: nonNegativeNumber().default(DEFAULTS.forecastWarningMinutes),
});

const auth = z.strictObject({
  mode: z.enum(AUTH_MODES).default(DEFAULTS.authMode),
  bypass_permissions: z.boolean().default(false),
});

const retry = z.strictObject({
  max_retries: intAtLeast(0).default(DEFAULTS.maxRetries),
  // 0 retries at once: a flaky call that needs no cooling off.
  backoff_seconds: nonNegativeNumber().default(DEFAULTS.backoffSeconds),
  // The Claude CLI's own retries of a failing API last minutes, silently: bounded here.
  api_wait_seconds: positiveNumber().default(DEFAULTS.apiWaitSeconds),
});

const guardrails = z.strictObject({
  max_depth: positiveInt().default(DEFAULTS.maxDepth),
  max_children_per_task: positiveInt().default(DEFAULTS.maxChildrenPerTask),
  max_tasks_per_role_per_hour: positiveInt().default(DEFAULTS.maxTasksPerRolePerHour),
});

const pricing = z.strictObject({
  override_file: text().optional(),
  update_source: text().default(DEFAULTS.pricingUpdateSource),
});

/** One `agents.<role>` entry. runtime/command consistency is a cross-field rule (rules.ts). */
const role = z.strictObject({
  daily_cap_usd: positiveNumber(),
  dispatch_reservation_usd: positiveNumber().optional(),
  allowed_tools: stringList().default(() => [...DEFAULTS.role.allowedTools]),
  env: z
    .array(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
        error: "must be an environment variable name like GITHUB_TOKEN",
      }),
      { error: (issue) => `must be a list of variable names, got ${show(issue.input)}` },
    )
    .default(() => []),
  prompt: text().optional(),
  max_concurrent: positiveInt().default(DEFAULTS.role.maxConcurrent),
  timeout_minutes: positiveNumber().default(DEFAULTS.role.timeoutMinutes),
  model: text().default(DEFAULTS.role.model),
  max_turns: positiveInt().default(DEFAULTS.role.maxTurns),
  runtime: z.enum(RUNTIMES).default(DEFAULTS.role.runtime),
  command: stringList()
    .min(1, { error: "must be a non-empty list of strings (the program, then its arguments)" })
    .optional(),
  requires_approval: z
    .union([z.boolean(), z.strictObject({ above_usd: nonNegativeNumber() })], {
      error: (issue) => `must be true, false or { above_usd: <dollars> }, got ${show(issue.input)}`,
    })
    .optional(),
});

/**
 * Role names are checked in rules.ts rather than by the record's key schema: zod skips the
 * settings of a role whose name it rejects, and every problem should be reported at once.
 */
const agents = z
  .record(z.string(), role, {
    error: (issue) =>
      issue.input === undefined
        ? "is required: declare at least one role"
        : `must be a mapping of role names to their settings, got ${show(issue.input)}`,
  })
  .refine((roles) => Object.keys(roles).length > 0, {
    error: "must declare at least one role",
  });

/** Nested sections may be left out entirely; prefault runs their defaults on `{}`. */
const sections = {
  notifications: notifications.prefault({}),
  budget: budget.prefault({}),
  auth: auth.prefault({}),
  retry: retry.prefault({}),
  guardrails: guardrails.prefault({}),
  pricing: pricing.prefault({}),
};

/** The whole file. Unknown keys anywhere are errors (a typo must not silently do nothing). */
export const producerYamlSchema = z.strictObject({
  project_name: text().optional(),
  project_root: text().default(DEFAULTS.projectRoot),
  agent_state_dir: text().default(DEFAULTS.agentStateDir),
  kill_switch: text().optional(),
  ledger_db: text().optional(),
  ledger_url: text().optional(),
  escalations_dir: text().optional(),
  reports_dir: text().optional(),
  poll_interval_seconds: positiveNumber().default(DEFAULTS.pollIntervalSeconds),
  idle_threshold_polls: positiveInt().default(DEFAULTS.idleThresholdPolls),
  report_interval_hours: positiveNumber().default(DEFAULTS.reportIntervalHours),
  max_concurrent_dispatches: positiveInt().default(DEFAULTS.maxConcurrentDispatches),
  lease_seconds: intAtLeast(5).default(DEFAULTS.leaseSeconds),
  ...sections,
  agents,
});

/** producer.yaml after schema validation: snake_case, static defaults filled in. */
export type ProducerYaml = z.output<typeof producerYamlSchema>;

/**
 * The keys allowed in each mapping, for "did you mean" hints: "" is the top level, section
 * names their section, and "agents.*" any role.
 */
export const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  "": Object.keys(producerYamlSchema.shape),
  notifications: Object.keys(notifications.shape),
  budget: Object.keys(budget.shape),
  auth: Object.keys(auth.shape),
  retry: Object.keys(retry.shape),
  guardrails: Object.keys(guardrails.shape),
  pricing: Object.keys(pricing.shape),
  "agents.*": Object.keys(role.shape),
};
