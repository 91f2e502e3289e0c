/**
 * The named errors of ai-producer. Every user-facing failure is one of these, so the CLI's
 * single top-level handler can print one line and pick an exit code without a stack trace.
 */

/** Base class: every error this library throws on purpose. */
export class ProducerError extends Error {
  /** Process exit code the CLI uses for this error: 1 operational, 2 usage. */
  readonly exitCode: number = 1;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * What kind of ledger failure this is, so callers map it without re-querying (the dashboard:
 * 400, 404, 409, 409, 503):
 * - `invalid`: the request itself is wrong (bad input, unknown role, a guardrail);
 * - `not_found`: it names a task, reservation or record that does not exist;
 * - `transition`: the thing exists but its state does not allow this (requeue a done task);
 * - `conflict`: another worker got there first (a claim race, a lost claim); try again;
 * - `storage`: the store failed (disk full, corrupt, read-only, locked too long, unreachable).
 */
export type LedgerErrorCode = "invalid" | "not_found" | "transition" | "conflict" | "storage";

/** A ledger operation was refused (bad input, unknown id, illegal transition) or failed. */
export class LedgerError extends ProducerError {
  readonly code: LedgerErrorCode;

  constructor(message: string, options?: { cause?: unknown; code?: LedgerErrorCode }) {
    super(message, options);
    this.code = options?.code ?? "invalid";
  }
}

/** Names something the ledger does not hold. */
export class LedgerNotFound extends LedgerError {
  constructor(message: string) {
    super(message, { code: "not_found" });
  }
}

/** The entity's state does not allow the change. */
export class LedgerTransitionRefused extends LedgerError {
  constructor(message: string) {
    super(message, { code: "transition" });
  }
}

/** The store itself failed: disk, corruption, permissions, a lock held too long, the network. */
export class LedgerStorageError extends LedgerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: "storage" });
  }
}

/** The place a ledger should be holds none yet (`producer init` creates it). */
export class LedgerMissing extends LedgerStorageError {}

/** Another worker claimed the task first. Harmless: try the next one. */
export class TaskClaimRace extends LedgerError {
  constructor(readonly taskId: string) {
    super(`task ${taskId} was claimed by another worker first`, { code: "conflict" });
  }
}

/** The claim was lost (recovered, killed) before its holder ended it. */
export class ClaimLost extends LedgerError {
  constructor(message: string) {
    super(message, { code: "conflict" });
  }
}

/** One problem found in producer.yaml, with the dotted key path it concerns. */
export interface ConfigProblem {
  /** Dotted key path, e.g. `agents.code.daily_cap_usd`; empty for the file as a whole. */
  path: string;
  message: string;
}

/** producer.yaml could not be read or is invalid. Lists every problem at once. */
export class ConfigError extends ProducerError {
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    super(ConfigError.render(file, problems), options);
  }

  private static render(file: string, problems: readonly ConfigProblem[]): string {
    const lines = problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    if (lines.length === 1) return file ? `${file}: ${lines[0]}` : (lines[0] ?? "");
    return `${file || "producer.yaml"} has ${lines.length} problems:\n${lines.map((l) => `  - ${l}`).join("\n")}`;
  }
}

/** A command was called wrongly (bad flag, bad argument). Exit code 2. */
export class UsageError extends ProducerError {
  override readonly exitCode = 2;
}

/** Turns anything caught into an Error, so catch blocks never handle `unknown` twice. */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === "string" ? value : JSON.stringify(value));
}

/**
 * An error's message on one line, control characters escaped. JSON.parse quotes the text it
 * choked on as it is, so a bad file's newlines and terminal escapes would otherwise reach the
 * terminal through the one-line message that names the problem.
 */
export function oneLineMessage(error: unknown): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point.
  return asError(error).message.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) =>
    c === "\n" ? "\\n" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Which limit a budget refusal or overrun is about. */
export type BudgetScope = "role" | "project";

/**
 * A dispatch was refused before spending (or a call passed a cap after the fact). Names the
 * role, the limit, and what was spent and reserved when it happened.
 */
export class BudgetExceeded extends ProducerError {
  constructor(
    readonly role: string,
    readonly scope: BudgetScope,
    readonly capUsd: number,
    readonly spentUsd: number,
    readonly reservedUsd: number,
    readonly afterTheFact: boolean,
    /** True the first time this role met its cap today: notify a human once. */
    readonly firstToday: boolean,
    /** Only held by calls in flight, not spent: the dispatch waits, it is not a [CAP HIT]. */
    readonly transient = false,
  ) {
    const usd = (n: number) => `$${n.toFixed(2)}`;
    const limit = scope === "role" ? `daily cap ${usd(capUsd)}` : `project ceiling ${usd(capUsd)}`;
    super(
      transient
        ? `role ${role} waits: its ${limit} is spent ${usd(spentUsd)} and held ${usd(reservedUsd)} by calls in flight`
        : afterTheFact
          ? `role ${role} passed its ${limit} after the fact: spent ${usd(spentUsd)}, reserved ${usd(reservedUsd)}`
          : `role ${role} is at its ${limit}: spent ${usd(spentUsd)}, reserved ${usd(reservedUsd)}; dispatch refused`,
    );
  }
}
