import type { Registry } from "prom-client";
import { METRICS_CONTENT_TYPE, metricsText } from "../metrics/registry.js";
import type { RouteTable } from "./methods.js";

/**
 * The route of `GET /metrics`, shared by this server and the dashboard. A read needs no token
 * (a scraper has none, and the numbers change nothing); the Host check before it still keeps
 * a rebound hostile name from reading them.
 */
export function addMetricsRoute(routes: RouteTable, registry: Registry): void {
  routes.get(
    "/metrics",
    async () =>
      new Response(await metricsText(registry), {
        headers: { "Content-Type": METRICS_CONTENT_TYPE },
      }),
  );
}
