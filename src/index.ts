/**
 * ai-producer — a bus, a budget and a brake for unattended teams of Claude agents.
 * Everything public is exported here, by name.
 */

import type { Dashboard, DashboardOptions } from "./web/server.js";

export type {
  BudgetForecast,
  CapForecast,
  ForecastInput,
  ForecastState,
  RateBasis,
} from "./budget/forecast.js";
export { forecastBudget } from "./budget/forecast.js";
export type { ForecastSettings } from "./budget/forecast-read.js";
export { readForecast } from "./budget/forecast-read.js";
export { forecastLines } from "./budget/forecast-text.js";
export type { BudgetSettings, BudgetSnapshot, FundedClaim, RoleBudget } from "./budget/tracker.js";
export { BudgetTracker, FALLBACK_RESERVATION_USD } from "./budget/tracker.js";
export type { Clock } from "./clock.js";
export { ManualClock, newId, systemClock, utcIsoNow, utcToday } from "./clock.js";
export { findConfigPath } from "./config/find.js";
export { loadConfig } from "./config/load.js";
export type {
  AuthConfig,
  AuthMode,
  BudgetConfig,
  GuardrailsConfig,
  NotificationsConfig,
  PricingConfig,
  ProducerConfig,
  RetryConfig,
  RoleConfig,
  RuntimeKind,
} from "./config/types.js";
export type { BudgetScope, ConfigProblem, LedgerErrorCode } from "./errors.js";
export {
  BudgetExceeded,
  ClaimLost,
  ConfigError,
  LedgerError,
  LedgerNotFound,
  LedgerStorageError,
  LedgerTransitionRefused,
  ProducerError,
  TaskClaimRace,
  UsageError,
} from "./errors.js";
export {
  AUTO_ARM_FAILURES,
  AUTO_ARM_WINDOW_MS,
  FailureBurstDetector,
} from "./killswitch/auto-arm.js";
export type { KillMode, KillSwitchState } from "./killswitch/kill-switch.js";
export { KillSwitchWatcher } from "./killswitch/kill-switch.js";
export type {
  AttentionItem,
  AttentionOverview,
  AttentionResolution,
  AttentionSelector,
} from "./ledger/attention.js";
export { MIN_ATTENTION_SUFFIX } from "./ledger/attention.js";
export type { AuditEvent } from "./ledger/audit/chain.js";
export { AUDIT_GENESIS_PREV_HASH } from "./ledger/audit/chain.js";
export type { AuditProblem, AuditVerification } from "./ledger/audit/verify/index.js";
export type {
  Reservation,
  ReserveOutcome,
  RoleBudgetRow,
  RolePace,
  Settlement,
} from "./ledger/budget.js";
export type { ClaimAndReserve, FinishedClaim } from "./ledger/claim-and-fund.js";
export type { QueueFlow } from "./ledger/dashboard-reads.js";
export type {
  ActorOption,
  AgentLedger,
  AuditAppend,
  AuditLedger,
  ClaimRequest,
  ClientSettings,
  Ledger,
  NoticeLedger,
  RecoveryOptions,
} from "./ledger/ledger.js";
export type { NewNotification, NotificationRecord } from "./ledger/notifications.js";
export type { LedgerConfig, LedgerOptions } from "./ledger/open.js";
export { LedgerClient, openLedger } from "./ledger/open.js";
export type { ProducerBeat } from "./ledger/producers.js";
export type { Listed, ReportData, ReportEvent, ReportTask } from "./ledger/report-queries.js";
export type { BudgetLimits, BudgetUsage } from "./ledger/rules/allowance.js";
export type { Guardrails } from "./ledger/rules/guardrails.js";
export type { ClaimEnd } from "./ledger/rules/transitions.js";
export type { Dialect, LockTarget, Params, Storage, Tx } from "./ledger/storage.js";
export type { DispatchIdentity, QueueSummaryRow } from "./ledger/task-queries.js";
export type {
  Asset,
  AuditRow,
  Decision,
  DispatchOutcome,
  NewAsset,
  NewDecision,
  NewTask,
  Payload,
  Task,
  TaskAttempt,
  TaskFilter,
  TaskStatus,
  TokenUsage,
} from "./ledger/types.js";
export { TASK_STATUSES } from "./ledger/types.js";
export {
  ATTENTION_FILE_LIMIT,
  renderAttentionFile,
  rewriteAttentionFile,
} from "./notify/attention-file.js";
export { pushChannelFor } from "./notify/from-config.js";
export type { Notice, NoticeKind } from "./notify/notice.js";
export type { Notifier, PushChannel } from "./notify/notifier.js";
export { needsAttentionPath, ProjectNotifier } from "./notify/notifier.js";
export type { NtfyChannelOptions } from "./notify/ntfy.js";
export { NTFY_MESSAGE_LIMIT_BYTES, NTFY_TITLE_LIMIT_BYTES, ntfyChannel } from "./notify/ntfy.js";
export type {
  CostResult,
  LoadPriceTableOptions,
  LongPromptRates,
  ModelPrice,
  PriceMatch,
  PriceTable,
  Rates,
} from "./pricing/table.js";
export {
  bundledPriceTable,
  computeCost,
  isStale,
  loadPriceTable,
  priceFor,
  STALE_AFTER_DAYS,
  tableAgeDays,
} from "./pricing/table.js";
export type { PricingUpdateOptions, PricingUpdateResult } from "./pricing/update.js";
export { updatePricing } from "./pricing/update.js";
export type { ProducerEventName, ProducerEvents } from "./producer/events.js";
export { ProducerEventEmitter } from "./producer/events.js";
export type { ProducerLine, ProducerLiveness } from "./producer/heartbeat.js";
export { livenessOf, producerLines, staleAfterMs } from "./producer/heartbeat.js";
export type { ProducerOptions, RunSummary } from "./producer/producer.js";
export { Producer } from "./producer/producer.js";
export type { ReportInput } from "./report/morning-report.js";
export {
  MorningReportWriter,
  renderMorningReport,
  reportPath,
  writeMorningReport,
} from "./report/morning-report.js";
export type { ReportWriter } from "./report/report-writer.js";
export type { AuthPlan } from "./runtimes/claude/auth.js";
export { planAuth } from "./runtimes/claude/auth.js";
export type { ClaudeInvokerOptions } from "./runtimes/claude/invoker.js";
export { ClaudeAgentInvoker } from "./runtimes/claude/invoker.js";
export { ExecRuntime } from "./runtimes/exec.js";
export { buildDispatchPrompt } from "./runtimes/prompt.js";
export type {
  CallProgress,
  DispatchRequest,
  InvocationErrorKind,
  InvocationResult,
  Runtime,
} from "./runtimes/types.js";
export type { Dashboard, DashboardOptions } from "./web/server.js";

/**
 * Starts the local dashboard of a project. Resolves once it listens. The web server (and hono
 * with it, ~4 MB) loads on the first call: a process that imports the library to run a
 * Producer does not carry it, and every agent it spawns forks a smaller process.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { startDashboard: start } = await import("./web/server.js");
  return start(options);
}
