import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { asError, LedgerError, ProducerError, UsageError } from "../errors.js";
import { registerLedgerMetrics } from "../metrics/ledger-metrics.js";
import { newMetricsRegistry } from "../metrics/registry.js";
import {
  armKillSwitch,
  type Body,
  changeTask,
  disarmKillSwitch,
  fileTask,
  generateReport,
  parseBody,
  resolveShownAttention,
  TASK_CHANGES,
  type TaskChange,
} from "./actions.js";
import { showLink, submitLink } from "./approval-page.js";
import { type DashboardAssets, TOKEN_PLACEHOLDER } from "./assets.js";
import { chartData, parseQueueRange } from "./charts.js";
import type { DashboardDeps } from "./deps.js";
import { attemptOutput, taskDetail } from "./detail.js";
import { HttpError, LEDGER_STATUS } from "./http-error.js";
import { LIVE_RETRY_AFTER_S, type LiveFeed } from "./live.js";
import { methodGuard, RouteTable } from "./methods.js";
import { addMetricsRoute } from "./metrics-route.js";
import { hostGuard, securityHeaders, writeGuard } from "./security.js";
import { dashboardState, parseTaskQuery } from "./state.js";

/** The biggest request body accepted: a task's description and payload fit well within. */
const MAX_BODY_BYTES = 1024 * 1024;

/** A request's body as a JSON object (see {@link parseBody}). */
async function body(c: Context): Promise<Body> {
  return parseBody(new Uint8Array(await c.req.arrayBuffer()), c.req.header("content-type"));
}

/** How the app is wired to its launch: the token it hands out and the port it answers on. */
export interface AppLaunch {
  token: string;
  /** Known only once the server is listening, hence a function. */
  port: () => number;
  /** Called with failures that are not the user's fault (the page gets a 500). */
  onError?: (message: string) => void;
  /** Tells open pages when the ledger changed (GET /api/events). */
  live: LiveFeed;
}

/**
 * The dashboard's routes. Reads are `GET /api/...`; every change is a `POST` that passes the
 * token and origin checks; every error is `{ "error": "..." }` with a 4xx/5xx status.
 */
export function createDashboardApp(
  deps: DashboardDeps,
  assets: DashboardAssets,
  launch: AppLaunch,
): Hono {
  const app = new Hono();
  const roles = Object.keys(deps.config.agents);

  app.use("*", securityHeaders());
  app.use("*", async (c, next) => {
    await next();
    // Live data and a per-launch token: never worth caching.
    c.res.headers.set("Cache-Control", "no-store");
  });
  app.use("*", hostGuard(launch.port));
  // Filled below; the guard reads it per request.
  const routes = new RouteTable(app);
  app.use("*", methodGuard(routes));
  app.use("*", writeGuard(launch.token));
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new HttpError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  routes.get("/", (c) => c.html(assets.page.replaceAll(TOKEN_PLACEHOLDER, launch.token)));
  routes.get("/static/*", (c) => serveAsset(c.req.path));
  routes.get("/vendor/*", (c) => serveAsset(c.req.path));

  routes.get("/api/state", async (c) =>
    c.json(await dashboardState(deps, parseTaskQuery(c.req.query(), roles))),
  );
  routes.get("/api/events", (c) => liveStream(c, launch.live));
  routes.get("/api/charts", async (c) =>
    c.json(await chartData(deps, parseQueueRange(c.req.query("range")))),
  );
  // The ledger's metrics, as `producer metrics` prints them; the dashboard runs no Producer,
  // so the dispatch counters of `producer run --metrics-port` are not here.
  const metrics = newMetricsRegistry();
  registerLedgerMetrics(metrics, deps);
  addMetricsRoute(routes, metrics);

  routes.get("/api/tasks/:id", async (c) => c.json(await taskDetail(deps, c.req.param("id"))));
  routes.get("/api/tasks/:id/attempts/:n/log", async (c) =>
    c.text(await attemptOutput(deps, c.req.param("id"), c.req.param("n"))),
  );

  routes.post("/api/tasks", async (c) => {
    const task = await fileTask(deps, await body(c));
    return c.json({ task }, 201);
  });
  routes.post("/api/tasks/:id/:change", async (c) => {
    const change = c.req.param("change");
    if (!(TASK_CHANGES as readonly string[]).includes(change)) {
      throw new HttpError(404, `no such action: ${change.slice(0, 40)}`);
    }
    const given = await body(c);
    return c.json({ task: await changeTask(deps, c.req.param("id"), change as TaskChange, given) });
  });
  // Approval links from ntfy (see approval-links.ts): their own token, not the page's.
  routes.get("/approve/:id/:token", (c) =>
    showLink(c, deps.ledger, deps.clock, c.req.param("id"), c.req.param("token")),
  );
  routes.post("/approve/:id/:token", (c) =>
    submitLink(c, deps.ledger, deps.clock, c.req.param("id"), c.req.param("token")),
  );
  routes.post("/api/killswitch/arm", async (c) =>
    c.json({ killSwitch: await armKillSwitch(deps, await body(c)) }),
  );
  routes.post("/api/killswitch/disarm", async (c) =>
    c.json({ previous: await disarmKillSwitch(deps) }),
  );
  routes.post("/api/report", async (c) => c.json(await generateReport(deps, await body(c))));
  routes.post("/api/attention/clear", async (c) =>
    c.json(await resolveShownAttention(deps, await body(c))),
  );

  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    if (error instanceof HttpError) return c.json({ error: error.message }, error.status);
    if (error instanceof UsageError) return c.json({ error: error.message }, 400);
    if (error instanceof LedgerError) {
      return c.json({ error: error.message }, LEDGER_STATUS[error.code]);
    }
    // Our named errors explain themselves (a file that cannot be written...); others are bugs.
    if (error instanceof ProducerError) return c.json({ error: error.message }, 500);
    const message = asError(error).message;
    launch.onError?.(`${c.req.method} ${c.req.path}: ${message}`);
    return c.json({ error: `internal error: ${message}` }, 500);
  });

  function serveAsset(path: string): Response {
    const asset = assets.files.get(path);
    if (!asset) throw new HttpError(404, `not found: ${path}`);
    return new Response(asset.body, { headers: { "Content-Type": asset.contentType } });
  }

  return app;
}

/**
 * GET /api/events: a Server-Sent Events stream of `changed` pings (see {@link LiveFeed}).
 *
 * It takes no token, like every read: EventSource cannot send the X-Producer-Token header,
 * and a token in the URL would end up in logs and history. Nothing needs one: the stream
 * carries no ledger data, only "fetch /api/state again"; the Host check has already refused
 * a rebound name; and a page of another site that opens it cannot read it (no CORS header).
 * That page could still hold streams open to use up the cap, so a browser's cross-site
 * request (Sec-Fetch-Site) is refused outright.
 */
function liveStream(c: Context, live: LiveFeed): Response {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    throw new HttpError(403, `refused: cross-site request (Sec-Fetch-Site: ${site.slice(0, 40)})`);
  }
  const refused = live.refusal();
  if (refused !== null) {
    return c.json({ error: refused.message }, refused.status, {
      "Retry-After": String(LIVE_RETRY_AFTER_S),
    });
  }
  const headers = { "Content-Type": "text/event-stream; charset=utf-8" };
  // Hono answers HEAD with the GET route and drops the body unread: a stream opened for it
  // would never be cancelled, and would hold a place and the ledger watch for good.
  if (c.req.method === "HEAD") return new Response(null, { headers });
  return new Response(live.open(c.req.raw.signal), { headers });
}
