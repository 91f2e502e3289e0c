import type { Ledger } from "../ledger/ledger.js";

/** How the live stream behaves; the defaults suit a person watching the page. */
export interface LiveOptions {
  /**
   * Commits closer together than this are announced once. SQLite reports several file events
   * per commit and a busy Producer commits in bursts; the page needs one refresh per burst.
   */
  debounceMs?: number;
  /** A comment line this often keeps proxies and the browser from timing the stream out. */
  keepAliveMs?: number;
  /** Streams open at once; more are refused and those pages poll instead. */
  maxStreams?: number;
}

const DEFAULTS: Required<LiveOptions> = { debounceMs: 100, keepAliveMs: 15_000, maxStreams: 16 };

/** How long a page refused a stream should wait before asking again (seconds). */
export const LIVE_RETRY_AFTER_S = 30;

/** Why a stream cannot be opened now: the reason the page is told. */
export type LiveRefusal = { status: 503; message: string };

const encoder = new TextEncoder();

/**
 * Tells every open page "the ledger changed" soon after any process commits to it, over
 * Server-Sent Events. It sends no ledger data: the page answers a `changed` event by fetching
 * /api/state with its own filters, so the stream needs nothing the page's reads do not.
 *
 * One ledger watch serves all streams; it starts with the first stream and stops with the
 * last, so a dashboard nobody looks at watches nothing.
 */
export class LiveFeed {
  private readonly options: Required<LiveOptions>;
  private readonly streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private stopWatching: (() => void) | null = null;
  private pending: ReturnType<typeof setTimeout> | null = null;
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  /** Set once watching failed: changes would go unseen, so pages are sent to polling. */
  private broken: string | null = null;
  private closed = false;

  constructor(
    private readonly ledger: Pick<Ledger, "watch">,
    options: LiveOptions = {},
    private readonly onError?: (message: string) => void,
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Streams open now. */
  get size(): number {
    return this.streams.size;
  }

  /** Null when a stream can be opened now, else why not. */
  refusal(): LiveRefusal | null {
    if (this.closed) return { status: 503, message: "the dashboard is shutting down" };
    if (this.broken !== null) {
      return { status: 503, message: `live updates are off (${this.broken}); the page polls` };
    }
    if (this.streams.size >= this.options.maxStreams) {
      return {
        status: 503,
        message: `too many live streams open (${this.options.maxStreams}): close other dashboard tabs; this one polls meanwhile`,
      };
    }
    return null;
  }

  /**
   * A `text/event-stream` body that lives until the client goes away (`signal` aborts or the
   * server cancels the body) or the feed closes. Check {@link refusal} first.
   */
  open(signal: AbortSignal): ReadableStream<Uint8Array> {
    let own: ReadableStreamDefaultController<Uint8Array> | null = null;
    const detach = () => {
      if (own === null) return;
      this.streams.delete(own);
      own = null;
      signal.removeEventListener("abort", detach);
      if (this.streams.size === 0) this.idle();
    };
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        own = controller;
        this.streams.add(controller);
        this.start();
        // `retry` is how long EventSource waits before reconnecting on its own; the opening
        // comment makes the server send the headers now, so the page knows it is connected.
        controller.enqueue(encoder.encode("retry: 3000\n: connected\n\n"));
        if (signal.aborted) detach();
        else signal.addEventListener("abort", detach);
      },
      cancel: detach,
    });
  }

  /** Ends every stream and stops watching; for the dashboard's close. */
  close(): void {
    this.closed = true;
    this.endAll();
  }

  private start(): void {
    if (this.stopWatching !== null) return;
    this.stopWatching = this.ledger.watch(
      () => this.changed(),
      (message) => this.fail(message),
    );
    this.keepAlive = setInterval(() => this.send(": keep-alive\n\n"), this.options.keepAliveMs);
    this.keepAlive.unref?.();
  }

  /** The last stream went away. */
  private idle(): void {
    this.stopWatching?.();
    this.stopWatching = null;
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    this.keepAlive = null;
    if (this.pending !== null) clearTimeout(this.pending);
    this.pending = null;
  }

  private changed(): void {
    // The first change of a burst sets the timer and later ones ride on it: a steady stream
    // of commits still gets one event per debounce period, never none.
    if (this.pending !== null || this.streams.size === 0) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.send("event: changed\ndata: {}\n\n");
    }, this.options.debounceMs);
    this.pending.unref?.();
  }

  private fail(message: string): void {
    if (this.broken !== null) return;
    this.broken = message;
    this.onError?.(`live updates are off, the page polls instead: ${message}`);
    // Ending the streams is what moves open pages to polling; new ones are refused above.
    this.endAll();
  }

  private send(text: string): void {
    const chunk = encoder.encode(text);
    for (const stream of this.streams) {
      try {
        stream.enqueue(chunk);
      } catch {
        // Already closed by the other side; its cancel removes it.
      }
    }
  }

  private endAll(): void {
    const streams = [...this.streams];
    this.streams.clear();
    for (const stream of streams) {
      try {
        stream.close();
      } catch {
        // Already closed.
      }
    }
    this.idle();
  }
}
