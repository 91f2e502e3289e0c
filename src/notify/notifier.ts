import type { Clock } from "../clock.js";
import type { ProducerConfig } from "../config/types.js";
import { asError } from "../errors.js";
import type { NoticeLedger } from "../ledger/ledger.js";
import type { NotificationRecord } from "../ledger/notifications.js";
import { needsAttentionPath, rewriteAttentionFile } from "./attention-file.js";
import type { Notice } from "./notice.js";

export { needsAttentionPath };

/** Delivers a recorded notification somewhere else (ntfy); throws when it could not. */
export type PushChannel = (record: NotificationRecord, extras?: PushExtras) => Promise<void>;

/** What one push may carry beyond its record, never stored in the ledger. */
export interface PushExtras {
  /**
   * ntfy action buttons, in ntfy's short header form (`view, Approve, https://..., clear=true`).
   * Kept out of the record: an approval link is a credential, and agents can read the ledger.
   */
  actions?: string;
}

/** Anything that tells a human. The Producer only depends on this. */
export interface Notifier {
  notify(notice: Notice, extras?: PushExtras): Promise<NotificationRecord | null>;
}

/** Who resolves an idle item when agents dispatch again, and why. */
const BACK_ONLINE = { actor: "producer", note: "agents dispatching again" } as const;

/**
 * Records every notification in the ledger (the dashboard mirrors it); one that needs a human
 * is an attention item, open until resolved, and needs-attention.md is rewritten from the
 * open ones. A back-online notice resolves the idle item of its sequence. Each notification
 * is handed to the push channel when there is one. Nothing here ever throws at the caller: a
 * notification that cannot be delivered is recorded as failed, and the loop carries on.
 */
export class ProjectNotifier implements Notifier {
  constructor(
    private readonly ledger: NoticeLedger,
    private readonly config: Pick<ProducerConfig, "agentStateDir" | "projectName">,
    private readonly options: {
      /** Accepted for compatibility: every time recorded is the ledger's own clock's. */
      clock?: Clock;
      push?: PushChannel;
      onError?: (message: string) => void;
      /** Applied to every title and message before it is recorded, written or pushed. */
      redact?: (text: string) => string;
    } = {},
  ) {}

  async notify(raw: Notice, extras?: PushExtras): Promise<NotificationRecord | null> {
    const redact = this.options.redact ?? ((text: string) => text);
    const notice = { ...raw, title: redact(raw.title), message: redact(raw.message) };
    let record: NotificationRecord;
    try {
      record = await this.ledger.recordNotification({
        kind: notice.kind,
        title: notice.title,
        message: notice.message,
        priority: notice.priority ?? 3,
        tags: notice.tags ?? [],
        needsHuman: notice.needsHuman ?? false,
        sequenceId: notice.sequenceId ?? null,
      });
    } catch (error) {
      this.options.onError?.(
        `could not record a notification (${notice.title}): ${asError(error).message}`,
      );
      return null;
    }
    if (notice.needsHuman || (await this.resolveIdleSpell(notice))) await this.rewriteFile();
    if (!this.options.push) return record;
    try {
      await this.options.push(record, extras);
      await this.ledger.setNotificationDelivery(record.id, "sent");
      return { ...record, delivery: "sent" };
    } catch (error) {
      const message = asError(error).message;
      this.options.onError?.(`push of "${notice.title}" failed: ${message}`);
      await this.ledger.setNotificationDelivery(record.id, "failed", message).catch(() => {});
      return { ...record, delivery: "failed", deliveryError: message };
    }
  }

  /** A back-online notice ends its idle spell: resolves the spell's idle item, if open. */
  private async resolveIdleSpell(notice: Notice): Promise<boolean> {
    if (notice.kind !== "back_online" || !notice.sequenceId) return false;
    try {
      const resolved = await this.ledger.resolveAttention(
        { sequenceId: notice.sequenceId, kind: "idle" },
        BACK_ONLINE,
      );
      return resolved.length > 0;
    } catch (error) {
      this.options.onError?.(`could not resolve the idle notice: ${asError(error).message}`);
      return false;
    }
  }

  private async rewriteFile(): Promise<void> {
    try {
      await rewriteAttentionFile(this.config, this.ledger);
    } catch (error) {
      const file = needsAttentionPath(this.config);
      this.options.onError?.(`could not write ${file}: ${asError(error).message}`);
    }
  }
}
