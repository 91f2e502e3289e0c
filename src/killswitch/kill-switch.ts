import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import type { Clock } from "../clock.js";
import { systemClock, utcIsoNow } from "../clock.js";
import { asError, ProducerError } from "../errors.js";
import type { AuditLedger } from "../ledger/ledger.js";

/** Whether in-flight calls may finish (`finish`) or are aborted at once (`now`). */
export type KillMode = "finish" | "now";

/** What the kill-switch file says. */
export interface KillSwitchState {
  reason: string;
  /** Who pulled it: `cli`, `ui`, `producer` (auto-arm), a user name, ... */
  by: string;
  /** ISO time it was pulled; null when the file was created by hand without one. */
  at: string | null;
  mode: KillMode;
  /** The machine it was pulled on, when the ledger spans several. */
  host?: string;
}

const HAND_MADE_REASON = "armed by creating the kill-switch file (no reason given)";

/**
 * The brake: a file whose presence halts all dispatching. Anyone can pull it — `producer kill`,
 * the dashboard, `touch agent-state/kill_switch`, or the Producer itself after a burst of
 * failures. Arming and disarming through this class are audited when a ledger is given; the
 * file is written first, so a broken ledger can never stop the brake from working.
 */
export class KillSwitchWatcher {
  private readonly clock: Clock;
  /** The brake as the shared ledger last said (see refresh); null when released there. */
  private shared: KillSwitchState | null = null;

  constructor(
    /** Absolute path of the kill-switch file (`kill_switch` in producer.yaml). */
    readonly path: string,
    private readonly options: { clock?: Clock; ledger?: AuditLedger } = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** True while the file exists (or the shared ledger, last read, says pulled). */
  isArmed(): boolean {
    return existsSync(this.path) || this.shared !== null;
  }

  /**
   * The brake as it stands: the file on this host, else the shared ledger's (as of the last
   * {@link refresh}), else null.
   */
  state(): KillSwitchState | null {
    return this.fileState() ?? this.shared;
  }

  /**
   * Reads the brake from the ledger when the ledger spans hosts (PostgreSQL): there the
   * newest `killswitch.armed` or `killswitch.disarmed` audit row is the team's brake, so
   * `producer kill` on one machine stops every machine. Then returns {@link state}.
   */
  async refresh(): Promise<KillSwitchState | null> {
    const { ledger } = this.options;
    if (ledger?.sharedByHosts && ledger.latestAudit) {
      const [armed, released] = await Promise.all([
        ledger.latestAudit("killswitch.armed"),
        ledger.latestAudit("killswitch.disarmed"),
      ]);
      this.shared = armed && (!released || released.seq < armed.seq) ? stateFromAudit(armed) : null;
    }
    return this.state();
  }

  /** The kill-switch file's contents, or null when there is none. */
  private fileState(): KillSwitchState | null {
    let text: string;
    try {
      // The Producer asks on every poll, and the file is usually absent: found so without an
      // exception (and its stack). A stat says "no entry" for a missing file and for a path
      // through a non-folder alike; only the first means "not armed", so the folder is looked
      // at too, and anything else is left to the read below, as before.
      if (!statSync(this.path, { throwIfNoEntry: false }) && this.folderExists()) return null;
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      // Present but unreadable still means halted: err on the side of the brake.
      return {
        reason: `kill-switch file unreadable (${asError(error).message})`,
        by: "unknown",
        at: null,
        mode: "finish",
      };
    }
    return parse(text);
  }

  private folderExists(): boolean {
    return statSync(dirname(this.path), { throwIfNoEntry: false })?.isDirectory() === true;
  }

  /**
   * Pulls the brake. `now` also asks running Producers to abort in-flight calls (their tasks
   * go back to pending without counting an attempt).
   */
  async arm(reason: string, by: string, mode: KillMode = "finish"): Promise<KillSwitchState> {
    const cleanReason = oneLine(reason) || "no reason given";
    const state: KillSwitchState = {
      reason: cleanReason,
      by: oneLine(by) || "unknown",
      at: utcIsoNow(this.clock),
      mode,
    };
    const body = `reason: ${state.reason}\nby: ${state.by}\nat: ${state.at}\nmode: ${state.mode}\n`;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const temp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(temp, body);
      renameSync(temp, this.path);
    } catch (error) {
      throw new ProducerError(
        `cannot write the kill-switch file ${this.path}: ${asError(error).message}`,
        {
          cause: error,
        },
      );
    }
    const host = this.options.ledger?.sharedByHosts ? this.options.ledger.host : undefined;
    await this.audit("killswitch.armed", state.by, {
      reason: state.reason,
      mode: state.mode,
      ...(host && { host }),
    });
    if (host) {
      // The ledger holds the brake now, for every host; the file only bridged the moment a
      // broken ledger could have failed the write. Left behind, it would keep this one host
      // halted after \`producer resume\` on another.
      state.host = host;
      this.shared = state;
      try {
        unlinkSync(this.path);
      } catch {
        // Gone already, or not removable: a later resume here removes it.
      }
    }
    return state;
  }

  /** Releases the brake. Resolves to the state it removed, or null when it was not armed. */
  async disarm(by: string): Promise<KillSwitchState | null> {
    const previous = await this.refresh();
    if (!previous) return null;
    try {
      unlinkSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new ProducerError(
          `cannot remove the kill-switch file ${this.path}: ${asError(error).message}`,
          {
            cause: error,
          },
        );
      }
    }
    await this.audit("killswitch.disarmed", oneLine(by) || "unknown", {
      previous_reason: previous.reason,
    });
    this.shared = null;
    return previous;
  }

  private async audit(
    action: string,
    actor: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    if (!this.options.ledger) return;
    await this.options.ledger.appendAudit({
      action,
      entityType: "killswitch",
      entityId: null,
      actor,
      details,
    });
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we strip.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]+/g;

function oneLine(text: string): string {
  return String(text).replace(CONTROL_CHARACTERS, " ").trim().slice(0, 2000);
}

/** The brake a `killswitch.armed` audit row records. */
function stateFromAudit(row: { actor: string; ts: string; details: string }): KillSwitchState {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(row.details) as Record<string, unknown>;
  } catch {
    // A row that does not parse still means halted: err on the side of the brake.
  }
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);
  const host = text(details.host);
  return {
    reason: text(details.reason) ?? "pulled in the shared ledger",
    by: row.actor,
    at: row.ts,
    mode: details.mode === "now" ? "now" : "finish",
    ...(host && { host }),
  };
}

function parse(text: string): KillSwitchState {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^(reason|by|at|mode):\s?(.*)$/.exec(line);
    if (match) fields.set(match[1]!, match[2]!.trim());
  }
  // A file written by hand may hold free text instead of fields: that text is the reason.
  const reason = fields.get("reason") || text.trim().split("\n")[0]?.trim() || HAND_MADE_REASON;
  return {
    reason,
    by: fields.get("by") || "unknown",
    at: fields.get("at") || null,
    mode: fields.get("mode") === "now" ? "now" : "finish",
  };
}
