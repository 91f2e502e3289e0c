import type { BudgetTracker } from "../budget/tracker.js";
import type { Clock } from "../clock.js";
import type { ProducerConfig } from "../config/types.js";
import type { KillSwitchWatcher } from "../killswitch/kill-switch.js";
import type { Ledger } from "../ledger/ledger.js";

/** What the dashboard's routes work with: the project, its ledger, and the brake. */
export interface DashboardDeps {
  config: ProducerConfig;
  ledger: Ledger;
  clock: Clock;
  /** Audited through `ledger`, so arming from the page leaves the same trail as the CLI. */
  killSwitch: KillSwitchWatcher;
  budget: BudgetTracker;
}

/** Who the dashboard's writes are attributed to in the audit log and `created_by`. */
export const UI_ACTOR = "ui";
