import { randomBytes, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http-error.js";

/** Paths of approval links, which authorise themselves (see approval-links.ts). */
export const APPROVAL_LINK_PREFIX = "/approve/";

/** The header every state-changing request carries the per-launch token in. */
export const TOKEN_HEADER = "X-Producer-Token";

/**
 * Sent with every response. The page runs only its own files (no inline script, no CDN), may
 * not be framed, and leaks no referrer: agent-written text that slipped past escaping still
 * could not run or phone home.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; "),
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/** A fresh random token for one launch of the dashboard. */
export function newLaunchToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Adds {@link SECURITY_HEADERS} to every response, refusals included. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  };
}

/**
 * Refuses any request whose Host is not the loopback address this server answers on. A DNS
 * rebinding attack points a hostile name at 127.0.0.1: the browser then sends that name as
 * Host, and this check is what stops the hostile page from reading or driving the dashboard.
 */
export function hostGuard(port: () => number): MiddlewareHandler {
  return async (c, next) => {
    const host = (c.req.header("host") ?? "").toLowerCase();
    if (!allowedHosts(port()).includes(host)) {
      throw new HttpError(
        403,
        `refused: Host "${host.slice(0, 100)}" is not this dashboard (use ${allowedHosts(port())[0]})`,
      );
    }
    await next();
  };
}

/**
 * Every request that is not a plain read must come from the page this server handed out: it
 * carries the per-launch token (a cross-site page cannot read it) and an Origin equal to the
 * served one. A missing Origin is refused too: browsers always send it on POST, and tools
 * that do not are not the dashboard.
 */
export function writeGuard(token: string): MiddlewareHandler {
  const expected = Buffer.from(token);
  return async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const given = Buffer.from(c.req.header(TOKEN_HEADER) ?? "");
    // An approval link carries its own single-use token instead (see approval-links.ts). Its
    // page's form posts with Origin "null" (the page sends no referrer), so the Origin check
    // is left to the token, which a cross-site page cannot know; Sec-Fetch-Site still holds.
    const linked = c.req.path.startsWith(APPROVAL_LINK_PREFIX);
    if (!linked && (given.length !== expected.length || !timingSafeEqual(given, expected))) {
      throw new HttpError(
        403,
        `refused: missing or wrong ${TOKEN_HEADER} header (reload the dashboard page to get the current one)`,
      );
    }
    const origin = c.req.header("origin");
    const own = `http://${(c.req.header("host") ?? "").toLowerCase()}`;
    if (!linked && (origin === undefined || origin.toLowerCase() !== own)) {
      throw new HttpError(
        403,
        `refused: cross-origin request (Origin ${origin === undefined ? "missing" : JSON.stringify(origin.slice(0, 100))}, expected ${own})`,
      );
    }
    const site = c.req.header("sec-fetch-site");
    if (site !== undefined && site !== "same-origin") {
      throw new HttpError(
        403,
        `refused: cross-site request (Sec-Fetch-Site: ${site.slice(0, 40)})`,
      );
    }
    await next();
  };
}

function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}
