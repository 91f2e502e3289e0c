/**
 * The ntfy push channel: each recorded notification is POSTed as plain text to
 * `<server>/<topic>`, its title, priority, tags and sequence id in ntfy's headers.
 *
 * Limits follow ntfy's publishing docs (docs.ntfy.sh/publish): a message body over 4,096 bytes
 * is turned into an `attachment.txt` (or refused with a 400 when the server has attachments
 * off), a title over 1 KB or tags over 512 bytes are refused with a 400, and a sequence id must
 * match the server's `^[-_A-Za-z0-9]{1,64}$`. Everything here is shaped to stay inside those
 * limits, so a long agent message is shortened rather than lost.
 */
import { createHash } from "node:crypto";
import { asError } from "../errors.js";
import type { NotificationRecord } from "../ledger/notifications.js";
import type { PushChannel, PushExtras } from "./notifier.js";

/** ntfy's default `message-size-limit`; a longer body would arrive as a file, not a notice. */
export const NTFY_MESSAGE_LIMIT_BYTES = 4096;

/** Our cap on the title: ntfy refuses over 1 KB, and a phone shows far less anyway. */
export const NTFY_TITLE_LIMIT_BYTES = 250;

/** ntfy refuses a request whose tags together exceed 512 bytes. */
const TAGS_LIMIT_BYTES = 512;

/** Ends a shortened message; says where the rest went so nobody thinks it was lost. */
const SHORTENED = "… (shortened; the full text is kept in the ledger)";

/** The server's rule for a sequence id (same as a topic name). */
const SEQUENCE_ID = /^[-_A-Za-z0-9]{1,64}$/;

/** RFC 2047 allows 75 characters per encoded word: 12 for `=?UTF-8?B?`…`?=`, 60 of base64. */
const ENCODED_WORD_BYTES = 45;

/** Options of {@link ntfyChannel}. */
export interface NtfyChannelOptions {
  /** Base URL of the ntfy server, e.g. `https://ntfy.sh` (a trailing slash is ignored). */
  server: string;
  /** The topic to publish to. */
  topic: string;
  /** Put in front of every title as `<prefix>: <title>`; "" for none. */
  subjectPrefix: string;
  /** Access token, sent as `Authorization: Bearer <token>`; never shown in an error. */
  token?: string;
  /** How long to wait for ntfy to answer before giving up; default 10 s. */
  timeoutMs?: number;
  /** The fetch to use; the global one by default. */
  fetch?: typeof fetch;
}

/**
 * A push channel that publishes each notification to an ntfy topic. It throws (and the
 * notifier records the failure) when ntfy is unreachable, too slow, or answers anything but
 * 2xx; the error names the server or status and never the token.
 */
export function ntfyChannel(options: NtfyChannelOptions): PushChannel {
  const server = options.server.replace(/\/+$/, "");
  const url = `${server}/${encodeURIComponent(options.topic)}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const send = options.fetch ?? fetch;
  const token = options.token?.trim() || undefined;
  // Errors end up in the ledger and on the dashboard: neither the token nor credentials in a
  // URL (fetch quotes the URL in some of its errors) may appear in them.
  const redact = (text: string) => {
    const scrubbed = text.replace(/\/\/[^/@\s]*@/g, "//");
    return token ? scrubbed.split(token).join("[token]") : scrubbed;
  };

  return async (record: NotificationRecord, extras?: PushExtras): Promise<void> => {
    if (token && !isVisibleAscii(token)) {
      throw new Error("the ntfy token has characters that cannot be sent in an HTTP header");
    }
    let response: Response;
    try {
      response = await send(url, {
        method: "POST",
        headers: {
          ...headersFor(record, options.subjectPrefix, token),
          ...(extras?.actions ? { Actions: headerText(extras.actions) } : {}),
        },
        body: shortenUtf8(record.message, NTFY_MESSAGE_LIMIT_BYTES, SHORTENED),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new Error(redact(fetchFailure(error, server, timeoutMs)), { cause: error });
    }
    if (response.ok) {
      // ntfy answers with the stored message as JSON; nothing in it is needed.
      await response.body?.cancel().catch(() => {});
      return;
    }
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    const detail = await refusalDetail(response);
    throw new Error(redact(`ntfy answered ${status}${detail ? `: ${detail}` : ""}`));
  };
}

function headersFor(
  record: NotificationRecord,
  prefix: string,
  token: string | undefined,
): Record<string, string> {
  const title = oneLine(prefix) ? `${oneLine(prefix)}: ${oneLine(record.title)}` : record.title;
  const headers: Record<string, string> = {
    "Content-Type": "text/plain; charset=utf-8",
    Title: headerText(shortenUtf8(oneLine(title), NTFY_TITLE_LIMIT_BYTES, "…")),
    Priority: String(priorityOf(record.priority)),
  };
  const tags = tagsHeader(record.tags);
  if (tags) headers.Tags = tags;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (record.sequenceId) headers["X-Sequence-ID"] = sequenceIdFor(record.sequenceId);
  return headers;
}

/** ntfy knows 1 (min) to 5 (max); anything else would be a 400. */
function priorityOf(priority: number): number {
  return Number.isFinite(priority) ? Math.min(5, Math.max(1, Math.round(priority))) : 3;
}

/**
 * Tags as one comma-separated header. Commas inside a tag would split it, so they go; tags that
 * would push the header past ntfy's 512 bytes are dropped rather than have the push refused.
 */
function tagsHeader(tags: readonly string[]): string {
  let header = "";
  for (const tag of tags) {
    const clean = oneLine(tag).replaceAll(",", " ").trim();
    if (!clean) continue;
    const next = header ? `${header},${headerText(clean)}` : headerText(clean);
    if (Buffer.byteLength(next) > TAGS_LIMIT_BYTES) break;
    header = next;
  }
  return header;
}

/**
 * A sequence id the server accepts. One that breaks its rule is rewritten the same way every
 * time, with a hash of the original, so the idle alert and its follow-up still match.
 */
function sequenceIdFor(id: string): string {
  if (SEQUENCE_ID.test(id)) return id;
  const hash = createHash("sha256").update(id).digest("hex").slice(0, 8);
  return `${id.replace(/[^-_A-Za-z0-9]/g, "-").slice(0, 55)}-${hash}`;
}

/**
 * A header value fetch can send and ntfy can read: fetch only takes Latin-1 and ntfy reads
 * raw bytes as UTF-8, so anything beyond printable ASCII goes as RFC 2047 encoded words, which
 * ntfy decodes (Go's `mime.WordDecoder.DecodeHeader`, joining adjacent words).
 */
function headerText(text: string): string {
  if (isVisibleAscii(text.replaceAll(" ", "")) && !text.includes("=?")) return text;
  const words: string[] = [];
  let chunk = "";
  for (const char of text) {
    if (Buffer.byteLength(chunk + char) > ENCODED_WORD_BYTES) {
      words.push(encodedWord(chunk));
      chunk = "";
    }
    chunk += char;
  }
  if (chunk) words.push(encodedWord(chunk));
  return words.join(" ");
}

function encodedWord(text: string): string {
  return `=?UTF-8?B?${Buffer.from(text, "utf8").toString("base64")}?=`;
}

function isVisibleAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}

/** Control characters (newlines above all) are not allowed in a header value. */
function oneLine(text: string): string {
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    out += code < 0x20 || (code >= 0x7f && code < 0xa0) ? " " : char;
  }
  return out.replace(/\s+/g, " ").trim();
}

/**
 * `text` cut to at most `maxBytes` of UTF-8, ending in `suffix` when it had to be cut. The cut
 * falls on a code point boundary, so the result is still valid UTF-8.
 */
function shortenUtf8(text: string, maxBytes: number, suffix: string): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes - Buffer.byteLength(suffix));
  // A byte 10xxxxxx continues a character; back up to the byte that starts it.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return `${bytes.subarray(0, end).toString("utf8").trimEnd()}${suffix}`;
}

/** What ntfy said about a refusal: its JSON `error`, or a short plain-text body. */
async function refusalDetail(response: Response): Promise<string> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return "";
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && "error" in parsed) {
      const error = (parsed as { error: unknown }).error;
      if (typeof error === "string") return oneLine(error).slice(0, 200);
    }
  } catch {
    // Not JSON: a proxy in front of ntfy, most likely.
  }
  const type = response.headers.get("content-type") ?? "";
  return type.startsWith("text/plain") ? oneLine(text).slice(0, 200) : "";
}

/** The useful part of a fetch failure: undici hides the socket error in `cause`. */
function fetchFailure(error: unknown, where: string, timeoutMs: number): string {
  const err = asError(error);
  if (err.name === "TimeoutError" || err.name === "AbortError") {
    return `ntfy did not answer within ${timeoutMs / 1000} s`;
  }
  let cause: unknown = err.cause;
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0];
  const why =
    cause instanceof Error
      ? cause.message || (cause as NodeJS.ErrnoException).code || err.message
      : err.message;
  return `ntfy unreachable at ${where}: ${why}`;
}
