/** Names that say a variable holds a secret. */
export const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i;

/** The variables a Claude CLI may authenticate with. */
export const CLAUDE_CREDENTIALS = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
] as const;

/** The key that seals the audit chain: no agent may ever see it. */
export const AUDIT_KEY_VARIABLE = "PRODUCER_AUDIT_KEY";

/** Variables always treated as secrets, whatever their value looks like. */
const KNOWN_SECRETS: readonly string[] = [...CLAUDE_CREDENTIALS, "NTFY_TOKEN", AUDIT_KEY_VARIABLE];

/** The password part of a ledger URL, decoded, or null. */
function ledgerUrlPassword(url: string | undefined): string | null {
  if (!url) return null;
  try {
    return decodeURIComponent(new URL(url).password) || null;
  } catch {
    return null;
  }
}

/** Shorter values are not redacted: they would match ordinary words and numbers. */
const MIN_SECRET_LENGTH = 8;

/**
 * Replaces the secrets we know of with `[redacted NAME]` in text we store, write or push: the
 * keys and tokens ai-producer holds, and any variable whose name says it is a secret. An
 * agent that prints a key it saw (or found) does not get it into the ledger, a report, an
 * escalation file or a phone notification.
 */
export class Redactor {
  private readonly secrets: [value: string, name: string][];

  constructor(secrets: Record<string, string | undefined>) {
    const seen = new Map<string, string>();
    for (const [name, value] of Object.entries(secrets)) {
      const trimmed = value?.trim();
      if (trimmed && trimmed.length >= MIN_SECRET_LENGTH && !seen.has(trimmed)) {
        seen.set(trimmed, name);
      }
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...seen].sort((a, b) => b[0].length - a[0].length);
  }

  /** The secrets of an environment: the known ones and every secret-named variable. */
  static fromEnv(env: NodeJS.ProcessEnv, extra: Record<string, string | undefined> = {}): Redactor {
    const secrets: Record<string, string | undefined> = { ...extra };
    for (const [name, value] of Object.entries(env)) {
      if (KNOWN_SECRETS.includes(name) || SECRET_NAME.test(name)) secrets[name] = value;
    }
    // A ledger URL's password (postgres://user:password@host/...) is a secret inside a value.
    const password = ledgerUrlPassword(env.PRODUCER_LEDGER_URL);
    if (password) secrets.PRODUCER_LEDGER_URL = password;
    return new Redactor(secrets);
  }

  /** `text` with every known secret replaced. */
  redact(text: string): string;
  redact(text: string | null): string | null;
  redact(text: string | null): string | null {
    if (!text) return text;
    let out = text;
    for (const [value, name] of this.secrets) {
      if (out.includes(value)) out = out.split(value).join(`[redacted ${name}]`);
    }
    return out;
  }
}
