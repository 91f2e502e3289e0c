// Talking to the dashboard's server. Changes carry the per-launch token from the page; the
// browser adds the Origin header the server also checks.

const token = document.querySelector('meta[name="producer-token"]')?.getAttribute("content") ?? "";

/** An error answer of the server: its `{ "error": ... }` message and status. */
export class ApiError extends Error {
  /** @param {string} message @param {number} status */
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** @param {Response} response */
async function read(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: fall through to a message made from the status.
  }
  if (!response.ok) {
    throw new ApiError(body?.error ?? `${response.status} ${response.statusText}`, response.status);
  }
  return body;
}

/** @param {string} path */
export async function getJson(path) {
  return read(await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" }));
}

/** @param {string} path @param {unknown} [body] */
export async function postJson(path, body = {}) {
  return read(
    await fetch(path, {
      method: "POST",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-Producer-Token": token,
      },
      body: JSON.stringify(body),
    }),
  );
}
