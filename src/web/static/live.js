// Keeping the page current. The server says "changed" over Server-Sent Events soon after any
// process commits to the ledger, and the page then reads /api/state with its own filters.
// Where the stream is refused (too many tabs, a ledger that cannot be watched) or breaks, the
// page polls instead and tries the stream again now and then.

/** How often the page asks while it polls. */
export const POLL_MS = 2000;
/** How often it asks anyway while pushed to: a lost ping costs at most this long. */
export const PUSHED_POLL_MS = 30_000;
/** How long it polls before trying the stream again. */
const RETRY_STREAM_MS = 30_000;

/**
 * @typedef {"push" | "poll"} LiveMode
 * @param {{ refresh: () => void, onMode: (mode: LiveMode, why: string) => void }} hooks
 * @returns {{ mode: () => LiveMode }}
 */
export function startLive({ refresh, onMode }) {
  /** @type {LiveMode} */
  let mode = "poll";
  /** @type {EventSource | null} */
  let source = null;

  /** @param {LiveMode} next @param {string} why */
  function setMode(next, why) {
    mode = next;
    onMode(next, why);
  }

  function connect() {
    if (typeof EventSource !== "function") {
      queueMicrotask(() => setMode("poll", "this browser has no EventSource: asking every 2 s"));
      return;
    }
    source = new EventSource("/api/events");
    source.addEventListener("open", () => {
      setMode("push", "updates pushed as the ledger changes");
      // Whatever changed while the stream was down.
      refresh();
    });
    source.addEventListener("changed", () => refresh());
    source.addEventListener("error", () => {
      // EventSource would retry a broken stream on its own, but not a refused one; one rule
      // for both: poll now, try the stream again later.
      source?.close();
      source = null;
      setMode("poll", "live updates unavailable: asking every 2 s");
      refresh();
      window.setTimeout(connect, RETRY_STREAM_MS);
    });
  }

  connect();
  return { mode: () => mode };
}
