import type { ProducerConfig } from "../config/types.js";
import type { PushChannel } from "./notifier.js";
import { ntfyChannel } from "./ntfy.js";

/**
 * The push channel a project asks for: ntfy when `notifications.ntfy_topic` is set, none when
 * it is "" (notifications then stay in the ledger and needs-attention.md, marked `not_sent`).
 * The access token comes from `NTFY_TOKEN` in `env`, never from producer.yaml, so it is not
 * committed along with the config.
 */
export function pushChannelFor(
  config: Pick<ProducerConfig, "notifications">,
  env: NodeJS.ProcessEnv,
): PushChannel | undefined {
  const { ntfyTopic, ntfyServer, subjectPrefix } = config.notifications;
  if (ntfyTopic === "") return undefined;
  return ntfyChannel({
    server: ntfyServer,
    topic: ntfyTopic,
    subjectPrefix,
    token: env.NTFY_TOKEN?.trim() || undefined,
  });
}
