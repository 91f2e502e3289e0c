import { describe, expect, it } from "vitest";
import { LedgerClient } from "../src/index.js";
import { runCli } from "./helpers/cli.js";
import { dashboardProject, http, watchFailure } from "./helpers/dashboard.js";
import { describePostgres, scratchSchema } from "./helpers/postgres.js";
import { countWatches, type EventStream, openEvents } from "./helpers/sse.js";

type ErrorBody = { error: string };

/** Resolves once `test()` holds; fails the test after `timeoutMs`. */
async function eventually(test: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const changes = (text: string) => text.match(/^event: changed$/gm)?.length ?? 0;

/** Resolves once no `changed` event has arrived for `ms`. */
async function quiet(stream: EventStream, ms: number): Promise<void> {
  let seen = -1;
  while (seen !== changes(stream.text())) {
    seen = changes(stream.text());
    await new Promise((r) => setTimeout(r, ms));
  }
}

describe("dashboard live updates: GET /api/events", () => {
  it("streams text/event-stream and says 'changed' after another process files a task", async () => {
    const p = await dashboardProject();
    const stream = await openEvents(p.dashboard.port);
    expect(stream.status).toBe(200);
    expect(stream.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(stream.headers["cache-control"]).toBe("no-store");
    expect(stream.headers["content-security-policy"]).toBeDefined();
    await stream.until((t) => t.includes(": connected\n\n"));
    expect(stream.text()).toMatch(/^retry: \d+\n/);
    expect(stream.events()).toEqual([]);

    const added = await runCli(["task", "add", "--agent", "qa", "--title", "From elsewhere"], {
      cwd: p.dir,
    });
    expect(added).toMatchObject({ code: 0, stderr: "" });
    await stream.until((t) => changes(t) > 0);
    expect(stream.text()).toContain("event: changed\ndata: {}\n\n");
    // The page answers the ping by reading the state: that read must not look like a change.
    const settled = changes(stream.text());
    const state = await http(p.dashboard, "/api/state");
    expect(state.json<{ tasks: { total: number } }>().tasks.total).toBe(1);
    await new Promise((r) => setTimeout(r, 600));
    expect(changes(stream.text())).toBe(settled);
  });

  it("announces a burst of commits once per debounce period, not once per commit", async () => {
    const p = await dashboardProject({ live: { debounceMs: 400 } });
    const stream = await openEvents(p.dashboard.port);
    await stream.until((t) => t.includes(": connected"));
    const started = Date.now();
    for (let i = 0; i < 20; i++) await p.fileTask("code", `burst ${i}`);
    const took = Date.now() - started;
    await stream.until((t) => changes(t) > 0);
    await new Promise((r) => setTimeout(r, 600));
    // One event per 400 ms the burst lasted, plus the one it ends on: far fewer than 20.
    expect(changes(stream.text())).toBeGreaterThanOrEqual(1);
    expect(changes(stream.text())).toBeLessThanOrEqual(Math.ceil(took / 400) + 1);
    expect(changes(stream.text())).toBeLessThan(20);
  });

  it("sends keep-alive comments while nothing changes", async () => {
    const p = await dashboardProject({ live: { keepAliveMs: 50 } });
    const stream = await openEvents(p.dashboard.port);
    await stream.until((t) => (t.match(/^: keep-alive$/gm)?.length ?? 0) >= 3);
    expect(stream.events()).toEqual([]);
  });

  it("watches the ledger once for all streams and stops when the last one goes away", async () => {
    const p = await dashboardProject();
    const watches = countWatches(p.ledger);
    expect(watches.open()).toBe(0);
    const first = await openEvents(p.dashboard.port);
    const second = await openEvents(p.dashboard.port);
    await first.until((t) => t.includes(": connected"));
    await second.until((t) => t.includes(": connected"));
    expect(watches.open()).toBe(1);
    first.close();
    await new Promise((r) => setTimeout(r, 200));
    expect(watches.open()).toBe(1);
    // The stream left open still hears about changes.
    await p.fileTask("code", "Still watched");
    await second.until((t) => changes(t) > 0);
    second.close();
    await eventually(() => watches.open() === 0, "the ledger watch to stop");
    // A new page starts a new watch, and closing the dashboard stops it and ends the stream.
    const third = await openEvents(p.dashboard.port);
    await third.until((t) => t.includes(": connected"));
    expect(watches.open()).toBe(1);
    await p.dashboard.close();
    await third.ended;
    expect(watches.open()).toBe(0);
  });

  it("caps the streams open at once with 503 and Retry-After; a closed one frees a place", async () => {
    const p = await dashboardProject({ live: { maxStreams: 2 } });
    const first = await openEvents(p.dashboard.port);
    const second = await openEvents(p.dashboard.port);
    await second.until((t) => t.includes(": connected"));
    const refused = await http(p.dashboard, "/api/events");
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("30");
    expect(refused.json<ErrorBody>().error).toBe(
      "too many live streams open (2): close other dashboard tabs; this one polls meanwhile",
    );
    first.close();
    // The server sees the close a moment after the client makes it.
    let again = await openEvents(p.dashboard.port);
    for (let i = 0; again.status !== 200 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await openEvents(p.dashboard.port);
    }
    expect(again.status).toBe(200);
    await again.until((t) => t.includes(": connected"));
  });

  it("answers HEAD with the stream's headers and holds nothing open for it", async () => {
    const p = await dashboardProject({ live: { maxStreams: 2 } });
    const watches = countWatches(p.ledger);
    for (let i = 0; i < 3; i++) {
      const head = await http(p.dashboard, "/api/events", { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(watches.open()).toBe(0);
    const stream = await openEvents(p.dashboard.port);
    expect(stream.status).toBe(200);
  });

  it("refuses a foreign Host and a cross-site browser request, like the other reads", async () => {
    const p = await dashboardProject();
    const watches = countWatches(p.ledger);
    const rebound = await http(p.dashboard, "/api/events", {
      headers: { host: `evil.example:${p.dashboard.port}` },
    });
    expect(rebound.status).toBe(403);
    const crossSite = await http(p.dashboard, "/api/events", {
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.json<ErrorBody>().error).toBe(
      "refused: cross-site request (Sec-Fetch-Site: cross-site)",
    );
    expect(watches.open()).toBe(0);
    const own = await openEvents(p.dashboard.port, { "sec-fetch-site": "same-origin" });
    expect(own.status).toBe(200);
  });

  it("ends open streams and refuses new ones once the ledger cannot be watched", async () => {
    const p = await dashboardProject();
    // The real watch, and a handle on its failure report (a vanished folder, a lost LISTEN).
    const fail = watchFailure(p.ledger);
    const stream = await openEvents(p.dashboard.port);
    await stream.until((t) => t.includes(": connected"));
    fail("watching /x stopped: gone");
    await stream.ended;
    const refused = await http(p.dashboard, "/api/events");
    expect(refused.status).toBe(503);
    expect(refused.json<ErrorBody>().error).toBe(
      "live updates are off (watching /x stopped: gone); the page polls",
    );
    expect(p.errors).toEqual([
      "live updates are off, the page polls instead: watching /x stopped: gone",
    ]);
  });
});

describePostgres("dashboard live updates on a PostgreSQL ledger", () => {
  it("says 'changed' after another client commits (LISTEN/NOTIFY)", async () => {
    const { url } = await scratchSchema("live");
    const p = await dashboardProject({ ledgerUrl: url });
    const stream = await openEvents(p.dashboard.port);
    await stream.until((t) => t.includes(": connected"));
    const other = await LedgerClient.open({ ledgerUrl: url, roles: ["code"], actor: "other" });
    try {
      // LISTEN starts on its own connection a moment after the stream opens, says "changed"
      // once as it starts (a commit may have been missed meanwhile) and checks delivery with a
      // NOTIFY of its own: wait for all that before the write that counts.
      await stream.until((t) => changes(t) > 0);
      await quiet(stream, 500);
      const before = changes(stream.text());
      await other.insertTask({ agentOwner: "code", title: "From another host" });
      await stream.until((t) => changes(t) > before);
    } finally {
      await other.close();
    }
  });
});
