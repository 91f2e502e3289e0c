import { type IncomingHttpHeaders, request } from "node:http";
import { onTestFinished } from "vitest";
import type { Ledger } from "../../src/index.js";

/** One open GET /api/events, read as it arrives. */
export interface EventStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Everything received so far. */
  text(): string;
  /** The `event:` names received so far, in order. */
  events(): string[];
  /** Resolves once `test(text())` holds; rejects after `timeoutMs`. */
  until(test: (text: string) => boolean, timeoutMs?: number): Promise<void>;
  /** Drops the connection, as a closed tab does. */
  close(): void;
  /** Resolves when the server ended the response. */
  ended: Promise<void>;
}

/** Opens the dashboard's event stream with a raw request (closed after the test). */
export function openEvents(
  port: number,
  headers: Record<string, string> = {},
  path = "/api/events",
): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        agent: false,
        headers: { host: `127.0.0.1:${port}`, accept: "text/event-stream", ...headers },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        const ended = new Promise<void>((done) => {
          res.on("end", done);
          res.on("close", done);
        });
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        const stream: EventStream = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: () => text,
          events: () => [...text.matchAll(/^event: (.*)$/gm)].map((m) => m[1]!),
          async until(test, timeoutMs = 5000) {
            const deadline = Date.now() + timeoutMs;
            while (!test(text)) {
              if (Date.now() > deadline) {
                throw new Error(`the event stream never matched; got ${JSON.stringify(text)}`);
              }
              await new Promise((r) => setTimeout(r, 10));
            }
          },
          close: () => req.destroy(),
          ended,
        };
        onTestFinished(() => {
          req.destroy();
        });
        resolve(stream);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * Counts the ledger watches open right now, around the real `watch` (which still runs): a
 * stream that forgets to stop its watch shows up here.
 */
export function countWatches(ledger: Pick<Ledger, "watch">): { open: () => number } {
  let open = 0;
  const watch = ledger.watch.bind(ledger);
  ledger.watch = (onChange, onError) => {
    open++;
    const stop = watch(onChange, onError);
    let stopped = false;
    return () => {
      if (!stopped) open--;
      stopped = true;
      stop();
    };
  };
  return { open: () => open };
}
