import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { LedgerErrorCode } from "../errors.js";

/**
 * A refusal the dashboard answers with `{ "error": message }` and this status. Routes throw
 * it for bad input (400), refused requests (403), unknown ids (404) and illegal transitions
 * (409); the app's error handler turns it into JSON, so no route writes an error response.
 */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** 400: the request itself is wrong. */
export const badRequest = (message: string): HttpError => new HttpError(400, message);

/** The status of a ledger refusal, from its code: no route needs to ask the ledger again. */
export const LEDGER_STATUS: Record<LedgerErrorCode, ContentfulStatusCode> = {
  invalid: 400,
  not_found: 404,
  transition: 409,
  conflict: 409,
  storage: 503,
};
