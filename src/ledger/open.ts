import { type ApprovalSettings, approvalRoles } from "../config/approval.js";
import { parseLedgerUrl } from "../config/ledger-url.js";
import { LedgerError } from "../errors.js";
import { DISPATCH_TOKEN_VARIABLE, findDispatchToken } from "../identity/dispatch-token.js";
import { StoredLedger } from "./client.js";
import type { ClientSettings, Ledger } from "./ledger.js";
import type { Storage } from "./storage.js";

/** The ledger as the library gives it: {@link StoredLedger}, opened from a file or a config. */
export class LedgerClient extends StoredLedger {
  /** Opens a SQLite ledger file (created unless `create: false`) and migrates it. */
  static open(options: LedgerOptions): Promise<LedgerClient> {
    return openLedgerFile(options);
  }
}

/** How to open a ledger: a SQLite file (`dbPath`) or a PostgreSQL schema (`ledgerUrl`). */
export interface LedgerOptions extends Omit<ClientSettings, "dispatch"> {
  /** Path of the SQLite file (`ledger_db` in producer.yaml). */
  dbPath?: string;
  /**
   * A PostgreSQL ledger instead: `postgres://user@host:5432/database?schema=name`
   * (`ledger_url`); the password comes from the environment (PGPASSWORD), not the URL.
   */
  ledgerUrl?: string;
  /** Create the file and schema if missing (default true; the CLI passes false). */
  create?: boolean;
  /** SQLite durability: NORMAL (default; safe in WAL against crashes) or FULL. */
  synchronous?: "NORMAL" | "FULL";
  /** Give up when another process holds the write lock this long (default 30 s). */
  lockTimeoutMs?: number;
}

/** The parts of a project's config that say where its ledger is and what it allows. */
export interface LedgerConfig {
  ledgerDb: string;
  ledgerUrl?: string | null;
  agents: ApprovalSettings;
  guardrails?: ClientSettings["guardrails"];
}

/**
 * Opens the project's ledger with its roles and guardrails, on the backend its config names
 * (a SQLite file, `ledger_db`, or PostgreSQL, `ledger_url`).
 */
export function openLedger(
  config: LedgerConfig,
  options: Omit<LedgerOptions, "dbPath" | "roles" | "guardrails" | "approvalRoles"> = {},
): Promise<LedgerClient> {
  return openLedgerFile({
    ...options,
    ...(config.ledgerUrl ? { ledgerUrl: config.ledgerUrl } : { dbPath: config.ledgerDb }),
    roles: Object.keys(config.agents),
    guardrails: config.guardrails,
    approvalRoles: approvalRoles(config.agents),
  });
}

/**
 * Opens (creating when allowed) a SQLite ledger file or a PostgreSQL schema and migrates it
 * to the current schema.
 */
export async function openLedgerFile(options: LedgerOptions): Promise<LedgerClient> {
  const url = options?.ledgerUrl;
  if (url !== undefined) {
    if (options.dbPath !== undefined) {
      throw new LedgerError("LedgerClient.open takes a dbPath or a ledgerUrl, not both");
    }
    // Loaded here, not at the top: the backend's driver is only paid for by whoever opens one.
    const { openPostgresStorage } = await import("./postgres/index.js");
    const storage = await openPostgresStorage({
      address: parseLedgerUrl(url),
      create: options.create ?? true,
    });
    return connect(storage, options);
  }
  if (!options || typeof options.dbPath !== "string" || options.dbPath === "") {
    throw new LedgerError("LedgerClient.open needs a dbPath (a SQLite file) or a ledgerUrl");
  }
  // Loaded here, not at the top: the backend's driver is only paid for by whoever opens one.
  const { openSqliteStorage } = await import("./sqlite/index.js");
  const storage = await openSqliteStorage({
    file: options.dbPath,
    create: options.create ?? true,
    synchronous: options.synchronous ?? "NORMAL",
    lockTimeoutMs: options.lockTimeoutMs ?? 30_000,
  });
  return connect(storage, options);
}

/** The roles and guardrails of the project a dispatch belongs to (its producer.yaml). */
async function projectLimits(configPath: string) {
  try {
    // The cached load the CLI uses: an agent's `producer task add` has just loaded the same
    // file that way, so this costs no second parse of the YAML.
    const { loadConfigCached } = await import("../config/cache/load.js");
    const config = await loadConfigCached(configPath, { env: process.env });
    return {
      roles: Object.keys(config.agents),
      guardrails: config.guardrails,
      approvalRoles: approvalRoles(config.agents),
    };
  } catch {
    return null; // No readable config: the caller refuses rather than run without limits.
  }
}

/**
 * A client over an open storage. Inside a dispatch (found by its token, see identity/) every
 * write is the dispatch's and the project's roles and guardrails apply, whatever the caller
 * passed: there is deliberately no option to opt out, or an agent's own script would take it.
 */
export async function connect(storage: Storage, settings: ClientSettings): Promise<LedgerClient> {
  const found = findDispatchToken();
  if (!found) return new LedgerClient(storage, settings);
  // The project's own limits, never the caller's: a `guardrails: {...}` or `approvalRoles: []`
  // passed by an agent's script would otherwise switch them off.
  const project = found.config ? await projectLimits(found.config) : null;
  if (!project) {
    await storage.close();
    throw new LedgerError(
      `this process belongs to a dispatch, but its project's producer.yaml (PRODUCER_CONFIG=${JSON.stringify(found.config ?? "")}) does not load, so the project's limits cannot be applied: it may not use the ledger`,
    );
  }
  const limits = {
    ...settings,
    roles: project.roles,
    guardrails: project.guardrails,
    approvalRoles: project.approvalRoles,
  };
  const dispatch = await new LedgerClient(storage, limits).dispatchIdentity(found.token);
  if (!dispatch) {
    await storage.close();
    throw new LedgerError(
      `this process belongs to a dispatch that has ended (its ${DISPATCH_TOKEN_VARIABLE} names no running dispatch): it may not write to the ledger`,
    );
  }
  return new LedgerClient(storage, { ...limits, dispatch });
}

export type { Ledger };
