import type { ContentfulStatusCode } from "hono/utils/http-status";

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
