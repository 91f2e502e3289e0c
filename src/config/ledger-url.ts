import { LedgerError } from "../errors.js";

/** Where a PostgreSQL ledger lives: the server's URL and the schema holding this project. */
export interface PostgresAddress {
  /** The URL the driver connects with (the `schema` parameter taken out). */
  url: string;
  schema: string;
  /** The URL for messages and the dashboard: the password, if any, replaced by `***`. */
  shown: string;
}

/** The schema a project's ledger gets unless its URL names one (`?schema=`). */
export const DEFAULT_SCHEMA = "producer";

/** Lower-case identifiers only: a schema name is spliced into SQL and a NOTIFY channel. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Reads `postgres://user@host:port/database?schema=name`; refuses anything else by name. */
export function parseLedgerUrl(text: string): PostgresAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LedgerError(
      `ledger_url ${JSON.stringify(redact(text))} is not a URL: write it as postgres://user@host:5432/database`,
    );
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new LedgerError(
      `ledger_url must start with postgres:// (got ${url.protocol}//): SQLite ledgers use ledger_db instead`,
    );
  }
  const schema = url.searchParams.get("schema") ?? DEFAULT_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) {
    throw new LedgerError(
      `ledger_url's schema ${JSON.stringify(schema)} is not a plain lower-case name: use letters, digits and _ (e.g. ?schema=my_project)`,
    );
  }
  url.searchParams.delete("schema");
  const shown = new URL(url.href);
  if (shown.password) shown.password = "***";
  shown.searchParams.set("schema", schema);
  return { url: url.href, schema, shown: shown.href };
}

/**
 * True when a ledger URL carries a password: then it is a credential, kept out of files and
 * out of agents' environments (they would get write access to the whole ledger).
 */
export function hasPassword(text: string): boolean {
  try {
    return new URL(text).password !== "";
  } catch {
    return /\/\/[^/@]*:[^/@]*@/.test(text);
  }
}

/** The text with any password in it hidden, for an error about a URL that did not parse. */
function redact(text: string): string {
  return text.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@");
}
