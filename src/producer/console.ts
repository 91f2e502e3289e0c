import { basisLabel, clockText } from "../budget/forecast-text.js";
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import type { Style } from "../text/style.js";
import type { ProducerEventEmitter, ProducerEventName, ProducerEvents } from "./events.js";

/** How `producer run` prints: readable lines, or one JSON object per line for collectors. */
export type LogFormat = "text" | "json";

const usd = (n: number) => `$${n < 0.1 ? n.toFixed(4) : n.toFixed(2)}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const short = (id: string) => id.slice(-8);

/** One human line per event; null for events that only matter in JSON logs. */
export function describeEvent<K extends ProducerEventName>(
  name: K,
  event: ProducerEvents[K],
  s: Style,
): string | null {
  switch (name) {
    case "started": {
      const v = event as ProducerEvents["started"];
      return `producer started (pid ${v.pid}) for roles ${v.roles.join(", ")}${v.once ? ", until the queue drains" : ""}`;
    }
    case "claimed": {
      const v = event as ProducerEvents["claimed"];
      return `${s.cyan("→")} ${v.role} ${short(v.taskId)} claimed: ${v.title} (attempt ${v.attempt}, limit ${usd(v.budgetUsd)})`;
    }
    case "succeeded": {
      const v = event as ProducerEvents["succeeded"];
      return `${s.green("✓")} ${v.role} ${short(v.taskId)} done in ${seconds(v.durationMs)}, ${usd(v.costUsd)}, ${v.tokens.toLocaleString("en-US")} tokens`;
    }
    case "failed": {
      const v = event as ProducerEvents["failed"];
      const next = {
        retry: "will retry",
        escalated: "escalated",
        failed: "failed for good",
        released: "returned to the queue, not counted",
      }[v.next];
      return `${s.red("✗")} ${v.role} ${short(v.taskId)} ${v.kind.replaceAll("_", " ")}: ${v.error} (${usd(v.costUsd)}; ${next})`;
    }
    case "retry_scheduled": {
      const v = event as ProducerEvents["retry_scheduled"];
      return `${s.yellow("↻")} ${v.role} ${short(v.taskId)} retry ${v.attempt - 1} in ${v.inSeconds} s`;
    }
    case "escalated": {
      const v = event as ProducerEvents["escalated"];
      return `${s.yellow("⚠")} ${v.role} ${short(v.taskId)} escalated after ${v.attempts} attempts: ${v.file}`;
    }
    case "budget_refused": {
      const v = event as ProducerEvents["budget_refused"];
      return `${s.yellow("$")} [CAP HIT] ${v.message}; task ${short(v.taskId)} waits`;
    }
    case "soft_cap": {
      const v = event as ProducerEvents["soft_cap"];
      return `${s.yellow("$")} ${v.role} passed its soft cap: ${usd(v.spentUsd)} of ${usd(v.capUsd)}`;
    }
    case "cap_forecast": {
      const v = event as ProducerEvents["cap_forecast"];
      return `${s.yellow("$")} ${v.role} reaches its ${usd(v.capUsd)} cap at ${clockText(v.hitsAt)} at ${usd(v.rateUsdPerHour)}/h (${basisLabel(v.basis)}): raise agents.${v.role}.daily_cap_usd or slow it down`;
    }
    case "budget_exceeded": {
      const v = event as ProducerEvents["budget_exceeded"];
      return `${s.red("$")} ${v.message} (overshoot ${usd(v.overshootUsd)})`;
    }
    case "progress": {
      const v = event as ProducerEvents["progress"];
      const head = `${s.dim("…")} ${v.role} ${short(v.taskId)}`;
      const sofar = `${v.turns} turn${v.turns === 1 ? "" : "s"}, ${v.tokens.toLocaleString("en-US")} tokens, ${usd(v.costUsd)} so far, ${seconds(v.elapsedMs)}`;
      const retry = v.apiRetry;
      if (!retry) return `${head} working: ${sofar}`;
      const why = retry.status === null ? "no connection" : `HTTP ${retry.status}`;
      return `${head} retrying the API (${why}; attempt ${retry.attempt} of ${retry.maxRetries}, for ${seconds(retry.forMs)}): ${sofar}`;
    }
    case "claim_lost": {
      const v = event as ProducerEvents["claim_lost"];
      return `${s.yellow("!")} ${v.role} ${short(v.taskId)} claim lost: ${v.why}`;
    }
    case "recovered": {
      const v = event as ProducerEvents["recovered"];
      return `${s.yellow("↺")} ${v.role} ${short(v.taskId)} recovered (stuck in progress): ${v.reason}`;
    }
    case "kill_armed": {
      const v = event as ProducerEvents["kill_armed"];
      return `${s.red("■")} kill switch armed${v.auto ? " automatically" : ` by ${v.by}`}: ${v.reason}; nothing new starts`;
    }
    case "kill_disarmed":
      return `${s.green("▶")} kill switch released; dispatching again`;
    case "idle": {
      const v = event as ProducerEvents["idle"];
      return `${s.dim("…")} idle: ${v.reason}`;
    }
    case "back_online": {
      const v = event as ProducerEvents["back_online"];
      return `${s.green("▶")} back online after ${v.idleForSeconds} s idle`;
    }
    case "stale_prices": {
      const v = event as ProducerEvents["stale_prices"];
      return `${s.yellow("!")} prices last checked ${v.checked} (${v.ageDays} days ago): run producer pricing update`;
    }
    case "prices_reloaded": {
      const v = event as ProducerEvents["prices_reloaded"];
      return `prices reloaded from ${v.file} (checked ${v.checked}), written by producer pricing update`;
    }
    case "prices_refused":
      return `${s.yellow("!")} price override not applied: ${(event as ProducerEvents["prices_refused"]).reason}`;
    case "report_written": {
      const v = event as ProducerEvents["report_written"];
      return v.final ? `final report of ${v.day} written: ${v.path}` : `report written: ${v.path}`;
    }
    case "config_changed":
      return `${s.yellow("!")} ${(event as ProducerEvents["config_changed"]).message}`;
    case "stopping": {
      const v = event as ProducerEvents["stopping"];
      if (v.inFlight === 0) return "stopping";
      return v.abort
        ? `aborting ${v.inFlight} call(s) in flight; their tasks go back to the queue`
        : `stopping: waiting for ${v.inFlight} call(s) in flight (Ctrl-C again to abort them)`;
    }
    case "stopped":
      return `stopped after ${(event as ProducerEvents["stopped"]).dispatched} dispatch(es)`;
    case "loop_error":
      return `${s.yellow("warning:")} ${(event as ProducerEvents["loop_error"]).message}`;
    default:
      return null;
  }
}

/**
 * Prints the Producer's events. Text lines carry a UTC time; on a TTY a status line (running,
 * queued, spent today) stays at the bottom. JSON mode prints one object per line and nothing
 * else.
 */
export function attachConsole(
  events: ProducerEventEmitter,
  out: NodeJS.WritableStream,
  options: { format: LogFormat; style: Style; clock?: Clock; status?: () => string | null },
): { close(): void } {
  const clock = options.clock ?? systemClock;
  const tty = Boolean((out as { isTTY?: boolean }).isTTY) && options.format === "text";
  let statusShown = false;
  const clearStatus = () => {
    if (statusShown) out.write("\r\u001b[2K");
    statusShown = false;
  };
  const drawStatus = () => {
    const line = options.status?.();
    if (!tty || !line) return;
    clearStatus();
    out.write(options.style.dim(line));
    statusShown = true;
  };
  events.onAny((name, event) => {
    const ts = new Date(clock.now()).toISOString();
    if (options.format === "json") {
      out.write(`${JSON.stringify({ ts, event: name, ...event })}\n`);
      return;
    }
    const line = describeEvent(name, event, options.style);
    if (line === null) return;
    clearStatus();
    out.write(`${options.style.dim(ts.slice(11, 19))} ${line}\n`);
    drawStatus();
  });
  const timer = tty ? setInterval(drawStatus, 1000) : null;
  timer?.unref();
  return {
    close() {
      if (timer) clearInterval(timer);
      clearStatus();
    },
  };
}
