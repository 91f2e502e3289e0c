import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import type { KillSwitchState, KillSwitchWatcher } from "./kill-switch.js";

/** Failures of one role within this window... */
export const AUTO_ARM_WINDOW_MS = 10 * 60 * 1000;
/** ...this many of them arm the kill switch. */
export const AUTO_ARM_FAILURES = 5;

/**
 * The system's own hand on the brake: counts each role's failures in a sliding window on the
 * injected clock and arms the kill switch when one role fails too often, too fast.
 */
export class FailureBurstDetector {
  private readonly failures = new Map<string, number[]>();
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly threshold: number;

  constructor(
    private readonly killSwitch: KillSwitchWatcher,
    options: { clock?: Clock; windowMs?: number; threshold?: number } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.windowMs = options.windowMs ?? AUTO_ARM_WINDOW_MS;
    this.threshold = options.threshold ?? AUTO_ARM_FAILURES;
  }

  /**
   * Counts one failure of `role`. Resolves to the kill-switch state when this failure armed
   * the switch, else null.
   */
  async recordFailure(role: string): Promise<KillSwitchState | null> {
    const now = this.clock.now();
    const recent = (this.failures.get(role) ?? []).filter((t) => now - t < this.windowMs);
    recent.push(now);
    this.failures.set(role, recent);
    if (recent.length < this.threshold) return null;
    this.failures.set(role, []);
    if (this.killSwitch.isArmed()) return null;
    const minutes = Math.round(this.windowMs / 60_000);
    return this.killSwitch.arm(
      `auto-armed: ${recent.length} failures of role ${role} within ${minutes} minutes`,
      "producer",
    );
  }
}
