import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import type { Registry } from "prom-client";
import { ProducerError } from "../errors.js";
import { HttpError } from "./http-error.js";
import { methodGuard, RouteTable } from "./methods.js";
import { addMetricsRoute } from "./metrics-route.js";
import { hostGuard, securityHeaders } from "./security.js";
import { BIND_ADDRESS, tryListen } from "./server.js";

/** A running metrics endpoint. */
export interface MetricsServer {
  /** `http://127.0.0.1:<port>/metrics`. */
  url: string;
  port: number;
  /** Stops listening and drops open connections; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Serves `registry` at `GET /metrics` on 127.0.0.1:`port` (0: any free port) for
 * `producer run --metrics-port`: loopback only, like the dashboard, since it has no login.
 */
export async function startMetricsServer(registry: Registry, port: number): Promise<MetricsServer> {
  let bound = 0;
  const app = new Hono();
  app.use("*", securityHeaders());
  app.use(
    "*",
    hostGuard(() => bound),
  );
  const routes = new RouteTable(app);
  app.use("*", methodGuard(routes));
  addMetricsRoute(routes, registry);
  app.notFound((c) =>
    c.json({ error: `not found: ${c.req.method} ${c.req.path} (try GET /metrics)` }, 404),
  );
  app.onError((error, c) => {
    if (error instanceof HttpError) return c.json({ error: error.message }, error.status);
    return c.json({ error: `internal error: ${error.message}` }, 500);
  });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  if (!(await tryListen(server, port))) {
    throw new ProducerError(
      `port ${port} on ${BIND_ADDRESS} is taken: choose another with --metrics-port (0 picks a free one)`,
    );
  }
  bound = (server.address() as { port: number }).port;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${BIND_ADDRESS}:${bound}/metrics`,
    port: bound,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
