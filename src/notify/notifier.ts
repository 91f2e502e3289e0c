import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../clock.js";
import { systemClock, utcIsoNow } from "../clock.js";
import type { ProducerConfig } from "../config/types.js";
import { asError } from "../errors.js";
import type { NoticeLedger } from "../ledger/ledger.js";
import type { NotificationRecord } from "../ledger/notifications.js";
import { quoted } from "../text/markdown.js";
import type { Notice } from "./notice.js";

/** Delivers a recorded notification somewhere else (ntfy); throws when it could not. */
export type PushChannel = (record: NotificationRecord) => Promise<void>;

/** Anything that tells a human. The Producer only depends on this. */
export interface Notifier {
  notify(notice: Notice): Promise<NotificationRecord | null>;
}

/** The file a human should read when something needs them. */
export function needsAttentionPath(config: Pick<ProducerConfig, "agentStateDir">): string {
  return join(config.agentStateDir, "needs-attention.md");
}

/**
 * Records every notification in the ledger (the dashboard mirrors it), appends the ones that
 * need a human to needs-attention.md, and hands each to the push channel when there is one.
 * Nothing here ever throws at the caller: a notification that cannot be delivered is
 * recorded as failed, and the loop carries on.
 */
export class ProjectNotifier implements Notifier {
  private readonly clock: Clock;

  constructor(
    private readonly ledger: NoticeLedger,
    private readonly config: Pick<ProducerConfig, "agentStateDir" | "projectName">,
    private readonly options: {
      clock?: Clock;
      push?: PushChannel;
      onError?: (message: string) => void;
      /** Applied to every title and message before it is recorded, written or pushed. */
      redact?: (text: string) => string;
    } = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async notify(raw: Notice): Promise<NotificationRecord | null> {
    const redact = this.options.redact ?? ((text: string) => text);
    const notice = { ...raw, title: redact(raw.title), message: redact(raw.message) };
    if (notice.needsHuman) this.markForHuman(notice);
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
    if (!this.options.push) return record;
    try {
      await this.options.push(record);
      await this.ledger.setNotificationDelivery(record.id, "sent");
      return { ...record, delivery: "sent" };
    } catch (error) {
      const message = asError(error).message;
      this.options.onError?.(`push of "${notice.title}" failed: ${message}`);
      await this.ledger.setNotificationDelivery(record.id, "failed", message).catch(() => {});
      return { ...record, delivery: "failed", deliveryError: message };
    }
  }

  private markForHuman(notice: Notice): void {
    const file = needsAttentionPath(this.config);
    try {
      mkdirSync(this.config.agentStateDir, { recursive: true });
      const header = `# ${this.config.projectName}: needs attention\n\nDelete this file once you have looked.\n`;
      let exists = true;
      try {
        appendFileSync(file, "", { flag: "ax" });
        exists = false;
      } catch {
        // Already there: append below the earlier notes.
      }
      appendFileSync(
        file,
        `${exists ? "" : header}\n## ${utcIsoNow(this.clock)} · ${notice.title.replace(/\s+/g, " ")}\n\n${quoted(notice.message)}\n`,
      );
    } catch (error) {
      this.options.onError?.(`could not write ${file}: ${asError(error).message}`);
    }
  }
}
