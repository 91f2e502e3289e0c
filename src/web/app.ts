import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { asError, LedgerError, ProducerError, UsageError } from "../errors.js";
import {
  armKillSwitch,
  type Body,
  changeTask,
  disarmKillSwitch,
  fileTask,
  generateReport,
  parseBody,
  resolveShownAttention,
  type TaskChange,
} from "./actions.js";
import { type DashboardAssets, TOKEN_PLACEHOLDER } from "./assets.js";
import { chartData, parseQueueRange } from "./charts.js";
import type { DashboardDeps } from "./deps.js";
import { attemptOutput, taskDetail } from "./detail.js";
import { HttpError, LEDGER_STATUS } from "./http-error.js";
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

  app.get("/", (c) => c.html(assets.page.replaceAll(TOKEN_PLACEHOLDER, launch.token)));
  app.get("/static/*", (c) => serveAsset(c.req.path));
  app.get("/vendor/*", (c) => serveAsset(c.req.path));

  app.get("/api/state", async (c) =>
    c.json(await dashboardState(deps, parseTaskQuery(c.req.query(), roles))),
  );
  app.get("/api/charts", async (c) =>
    c.json(await chartData(deps, parseQueueRange(c.req.query("range")))),
  );
  app.get("/api/tasks/:id", async (c) => c.json(await taskDetail(deps, c.req.param("id"))));
  app.get("/api/tasks/:id/attempts/:n/log", async (c) =>
    c.text(await attemptOutput(deps, c.req.param("id"), c.req.param("n"))),
  );

  app.post("/api/tasks", async (c) => {
    const task = await fileTask(deps, await body(c));
    return c.json({ task }, 201);
  });
  app.post("/api/tasks/:id/:change", async (c) => {
    const change = c.req.param("change");
    if (change !== "requeue" && change !== "kill" && change !== "reroute") {
      throw new HttpError(404, `no such action: ${change.slice(0, 40)}`);
    }
    const given = await body(c);
    return c.json({ task: await changeTask(deps, c.req.param("id"), change as TaskChange, given) });
  });
  app.post("/api/killswitch/arm", async (c) =>
    c.json({ killSwitch: await armKillSwitch(deps, await body(c)) }),
  );
  app.post("/api/killswitch/disarm", async (c) =>
    c.json({ previous: await disarmKillSwitch(deps) }),
  );
  app.post("/api/report", async (c) => c.json(await generateReport(deps, await body(c))));
  app.post("/api/attention/clear", async (c) =>
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
