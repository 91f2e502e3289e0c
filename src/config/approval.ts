import type { RoleConfig } from "./types.js";

/** What the approval gate reads of each role (`agents` in producer.yaml, normalised). */
export type ApprovalSettings = Readonly<
  Record<string, Partial<Pick<RoleConfig, "requiresApproval" | "dispatchReservationUsd">>>
>;

/** Reservation used when neither the role nor the `producer` role sets one. */
export const FALLBACK_RESERVATION_USD = 0.05;

/**
 * What one call of `role` is expected to cost when a task is filed: the money its dispatch
 * will hold (the role's `dispatch_reservation_usd`, else the producer role's, else $0.05).
 * Nothing better is known then: the real cost exists only once the call has run, and the
 * reservation is the figure the operator already set as "what one call may take".
 */
export function estimatedCallUsd(agents: ApprovalSettings, role: string): number {
  return (
    agents[role]?.dispatchReservationUsd ??
    agents.producer?.dispatchReservationUsd ??
    FALLBACK_RESERVATION_USD
  );
}

/**
 * The roles whose new tasks wait in `awaiting_approval`: `requires_approval: true`, or
 * `requires_approval: { above_usd: X }` with an estimated call above X.
 */
export function approvalRoles(agents: ApprovalSettings): string[] {
  return Object.entries(agents)
    .filter(([name, r]) =>
      typeof r.requiresApproval === "object"
        ? estimatedCallUsd(agents, name) > r.requiresApproval.aboveUsd
        : r.requiresApproval === true,
    )
    .map(([name]) => name);
}
