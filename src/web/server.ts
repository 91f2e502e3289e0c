import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { BudgetTracker } from "../budget/tracker.js";
import { type Clock, systemClock } from "../clock.js";
import type { ProducerConfig } from "../config/types.js";
import { asError, ProducerError } from "../errors.js";
import { KillSwitchWatcher } from "../killswitch/kill-switch.js";
import type { Ledger } from "../ledger/ledger.js";
import { pushChannelFor } from "../notify/from-config.js";
import { ProjectNotifier } from "../notify/notifier.js";
import { createDashboardApp } from "./app.js";
import { offerApprovals } from "./approval-links.js";
import { loadAssets } from "./assets.js";
import { LiveFeed, type LiveOptions } from "./live.js";
import { newLaunchToken } from "./security.js";

/** The first port tried when none is given; several projects side by side get the next ones. */
export const FIRST_DASHBOARD_PORT = 5050;
/** How many ports are tried from {@link FIRST_DASHBOARD_PORT} before giving up. */
export const DASHBOARD_PORT_SPAN = 100;

/** The only interface the dashboard listens on: it has no login, so it must not be reachable. */
export const BIND_ADDRESS = "127.0.0.1";

/** What {@link startDashboard} needs. */
export interface DashboardOptions {
  config: ProducerConfig;
  /** An open ledger; the dashboard never closes it. */
  ledger: Ledger;
  /**
   * Listen on exactly this port (taken: an error). Omitted: the first free one from 5050 up.
   * 0 lets the system pick any free port.
   */
  port?: number;
  /**
   * The name the URL uses: `127.0.0.1` (default) or `localhost`. Either way the server binds
   * to 127.0.0.1 only.
   */
  host?: "127.0.0.1" | "localhost";
  /** Where "today" comes from for budgets, charts and reports. */
  clock?: Clock;
  /** Told about failures that are not the user's fault (they answer 500). */
  onError?: (message: string) => void;
  /** Tuning of the live update stream (GET /api/events); the defaults suit people. */
  live?: LiveOptions;
  /** Where the ntfy access token (`NTFY_TOKEN`) is read for approval requests; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A running dashboard. */
export interface Dashboard {
  /** `http://127.0.0.1:<port>/`. */
  url: string;
  port: number;
  /** The per-launch token the page sends with every change (`X-Producer-Token`). */
  token: string;
  /** Stops listening and drops open connections; safe to call twice. */
  close(): Promise<void>;
}

/** Starts the local dashboard of a project. Resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? "127.0.0.1";
  if (host !== "127.0.0.1" && host !== "localhost") {
    throw new ProducerError(`the dashboard only serves on 127.0.0.1 (or localhost), not ${host}`);
  }
  const clock = options.clock ?? systemClock;
  const deps = {
    config: options.config,
    ledger: options.ledger,
    clock,
    killSwitch: new KillSwitchWatcher(options.config.killSwitch, {
      clock,
      ledger: options.ledger,
    }),
    budget: new BudgetTracker(options.ledger, options.config, { clock, warn: () => {} }),
  };
  const token = newLaunchToken();
  let port = 0;
  const live = new LiveFeed(options.ledger, options.live, options.onError);
  const app = createDashboardApp(deps, loadAssets(), {
    token,
    port: () => port,
    onError: options.onError,
    live,
  });
  const server = await listen(
    () => createAdaptorServer({ fetch: app.fetch }) as Server,
    options.port,
  );
  port = (server.address() as { port: number }).port;
  const approvals = watchApprovals(deps, `http://${host}:${port}`, options);
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}/`,
    port,
    token,
    close() {
      closing ??= new Promise<void>((resolve) => {
        // Ends the event streams (and the ledger watch behind them) before the ledger closes.
        live.close();
        const stopped = approvals.stop();
        server.close(() => void stopped.then(() => resolve()));
        // The page's keep-alive connections would hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * With an ntfy topic, sends an approval request (an Approve button with a single-use link to
 * this server) for each task awaiting approval, now and whenever the ledger changes. Only the
 * human's `producer ui` makes links: it is the process that serves them, and no agent runs it.
 */
function watchApprovals(
  deps: { ledger: Ledger; config: ProducerConfig; clock: Clock },
  baseUrl: string,
  options: DashboardOptions,
): { stop(): Promise<void> } {
  if (deps.config.notifications.ntfyTopic === "") return { stop: async () => {} };
  const notifier = new ProjectNotifier(deps.ledger, deps.config, {
    push: pushChannelFor(deps.config, options.env ?? process.env),
    onError: options.onError,
  });
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const run = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = offerApprovals(deps.ledger, notifier, baseUrl, deps.clock)
      .then(() => {})
      .catch((error) => options.onError?.(`approval requests: ${asError(error).message}`))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const unwatch = deps.ledger.watch(run, options.onError);
  run();
  return {
    async stop() {
      stopped = true;
      unwatch();
      await running;
    },
  };
}

async function listen(make: () => Server, port: number | undefined): Promise<Server> {
  if (port !== undefined) {
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new ProducerError(`port must be a whole number from 1 to 65535, got ${port}`);
    }
    const server = make();
    if (await tryListen(server, port)) return server;
    throw new ProducerError(
      `port ${port} on ${BIND_ADDRESS} is taken: choose another with --port, or leave it out to pick a free one`,
    );
  }
  const last = FIRST_DASHBOARD_PORT + DASHBOARD_PORT_SPAN - 1;
  for (let candidate = FIRST_DASHBOARD_PORT; candidate <= last; candidate++) {
    const server = make();
    if (await tryListen(server, candidate)) return server;
  }
  throw new ProducerError(
    `no free port from ${FIRST_DASHBOARD_PORT} to ${last} on ${BIND_ADDRESS}: choose one with --port`,
  );
}

/** Resolves true once listening, false when the port is taken; other failures reject. */
export function tryListen(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") resolve(false);
      else
        reject(
          new ProducerError(`cannot listen on ${BIND_ADDRESS}:${port}: ${error.message}`, {
            cause: error,
          }),
        );
    };
    const onListening = () => {
      server.off("error", onError);
      resolve(true);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ port, host: BIND_ADDRESS, exclusive: true });
  });
}
