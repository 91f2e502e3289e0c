/** What a human is told about. */
export type NoticeKind =
  | "idle"
  | "back_online"
  | "escalation"
  | "cap_hit"
  | "soft_cap"
  /** A role's cap is forecast to be reached soon at today's burn rate. */
  | "cap_forecast"
  | "budget_exceeded"
  | "kill_armed"
  | "kill_disarmed"
  | "stale_prices"
  | "prices_refused"
  | "guardrail"
  | "report"
  | "approval";

/** One notification, before it is recorded and pushed. */
export interface Notice {
  kind: NoticeKind;
  /** Short; the subject prefix is added in front when pushed. */
  title: string;
  message: string;
  /** ntfy priority: 1 min .. 5 urgent (default 3). */
  priority?: 1 | 2 | 3 | 4 | 5;
  /** ntfy tags (emoji short codes or words). */
  tags?: string[];
  /** A human should act: an attention item, open until resolved, listed in needs-attention.md. */
  needsHuman?: boolean;
  /** Notices sharing this id replace each other on the phone (idle → back online). */
  sequenceId?: string;
}
