import { asError, LedgerStorageError } from "../../errors.js";

/** SQLSTATEs after which a transaction can simply run again: nothing of it was kept. */
const RETRYABLE = new Set(["40001", "40P01"]);

/** The driver's codes for a connection that failed or went away. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
]);

const codeOf = (error: unknown): string => String((error as { code?: unknown })?.code ?? "");

/** A deadlock or serialisation failure: the server rolled back, the work may run again. */
export const isRetryable = (error: unknown): boolean => RETRYABLE.has(codeOf(error));

/** The connection failed: whatever was in flight has an unknown outcome. */
export const isConnectionLoss = (error: unknown): boolean =>
  CONNECTION_CODES.has(codeOf(error)) ||
  codeOf(error).startsWith("08") ||
  codeOf(error) === "57P01";

/** A server or network failure as a LedgerError naming the ledger and what to do. */
export function describePostgresError(error: unknown, where: string): Error {
  if (error instanceof LedgerStorageError) return error;
  const err = asError(error);
  const code = codeOf(error);
  const cause = { cause: err };
  if (isConnectionLoss(error)) {
    return new LedgerStorageError(
      `cannot reach the ledger's PostgreSQL at ${where} (${err.message}): check ledger_url and that the server is running`,
      cause,
    );
  }
  switch (code) {
    case "28P01":
    case "28000":
      return new LedgerStorageError(
        `PostgreSQL refused the login to ${where} (${err.message}): set PGUSER/PGPASSWORD (or PGPASSFILE) in the environment, never in producer.yaml`,
        cause,
      );
    case "3D000":
      return new LedgerStorageError(
        `the database in ${where} does not exist: create it (createdb) or fix ledger_url`,
        cause,
      );
    case "42501":
      return new LedgerStorageError(
        `the ledger's PostgreSQL user may not do this at ${where} (${err.message}): grant it rights on the schema`,
        cause,
      );
    case "53100":
      return new LedgerStorageError(
        `the disk of the ledger's PostgreSQL at ${where} is full`,
        cause,
      );
    default:
      return err;
  }
}
