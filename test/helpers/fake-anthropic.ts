// A fake Anthropic Messages API for driving the real bundled `claude` CLI (through the real Agent
// SDK) offline. Wire format and env recipe proven in the SDK research notes: the CLI only ever calls
// `POST /v1/messages?beta=true` with `stream: true` when nonessential traffic is disabled.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import type { SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";

/** Token counts of one scripted turn, in the API's snake_case shape. */
export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
  /** Split of the cache writes; the CLI prices the 1h part at the 1h rate. */
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/**
 * The usage every turn reports unless told otherwise. On claude-sonnet-4-5 ($3/$15, cache write
 * $3.75, cache read $0.30 per Mtok) one such turn costs exactly {@link TURN_COST_USD}, so a
 * run's `total_cost_usd` is simply turns x 0.00459.
 */
export const DEFAULT_USAGE: Readonly<Required<Omit<FakeUsage, "cache_creation">>> = Object.freeze({
  input_tokens: 1000,
  output_tokens: 50,
  cache_creation_input_tokens: 200,
  cache_read_input_tokens: 300,
});

/** What the bundled CLI charges for one {@link DEFAULT_USAGE} turn on claude-sonnet-4-5. */
export const TURN_COST_USD = 0.00459;

export type FakeContentBlock =
  | { type: "text"; text: string }
  /** `id` is generated when omitted; set it to correlate the tool_result in a later request. */
  | { type: "tool_use"; name: string; input: unknown; id?: string };

/** One successful answer to `POST /v1/messages`. */
export interface FakeMessageTurn {
  content: FakeContentBlock[];
  usage?: FakeUsage;
  /** Defaults to "tool_use" when a tool_use block is present, else "end_turn". */
  stopReason?: string;
  /** Model reported in the response; defaults to the requested one (the CLI prices by the request anyway). */
  model?: string;
  /** Wait this long before answering (e.g. to exercise API_TIMEOUT_MS or an abort). */
  delayMs?: number;
}

/** An HTTP error answer to `POST /v1/messages`. */
export interface FakeErrorTurn {
  status: number;
  /** Defaults to Anthropic's `{type:"error", error:{type, message}}` for the status. A string is sent verbatim. */
  body?: unknown;
  /** Merged over the default `x-should-retry: false`, which stops the CLI's minutes-long backoff. */
  headers?: Record<string, string>;
  delayMs?: number;
}

export type FakeTurn = FakeMessageTurn | FakeErrorTurn;

/** Computes a turn from the parsed request body; `index` counts `/v1/messages` requests from 0. */
export type FakeTurnFn = (body: FakeRequestBody, index: number) => FakeTurn | Promise<FakeTurn>;

export type FakeScriptEntry = FakeTurn | FakeTurnFn;

/** The parts of a Messages API request body the harness looks at; everything else passes through. */
export interface FakeRequestBody {
  model?: string;
  stream?: boolean;
  messages?: Array<{ role: string; content: string | Array<Record<string, unknown>> }>;
  tools?: Array<{ name: string; defer_loading?: boolean; [key: string]: unknown }>;
  [key: string]: unknown;
}

/**
 * The tools a request offers the model outright: named in `tools` and not deferred behind
 * ToolSearch. A real model can only call these, so a script may only use these.
 */
export function offeredTools(body: FakeRequestBody | string | null): string[] {
  if (body === null || typeof body === "string") return [];
  return (body.tools ?? []).filter((t) => t.defer_loading !== true).map((t) => t.name);
}

export interface FakeRequest {
  method: string;
  /** Path without the query string (the CLI appends `?beta=true`). */
  path: string;
  /** Path with the query string, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when it was not JSON, or null when empty. */
  body: FakeRequestBody | string | null;
}

export interface FakeAnthropicOptions {
  /** Answers for successive `/v1/messages` requests, consumed in order. */
  script?: FakeScriptEntry[];
  /** Answer once the script is used up. Default: {@link textTurn}("done"). */
  fallback?: FakeScriptEntry;
}

export interface FakeAnthropic {
  /** `http://127.0.0.1:<port>`, for ANTHROPIC_BASE_URL. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: FakeRequest[];
  /** Only the `POST /v1/messages` requests (the model calls). */
  messageRequests(): FakeRequest[];
  /** Appends turns to the script. */
  push(...entries: FakeScriptEntry[]): void;
  /** Script entries not yet consumed. */
  readonly remaining: number;
  /**
   * Scripted turns the fake refused to send because they call a tool the request did not
   * offer (see {@link offeredTools}): a real model could never make such a call.
   */
  readonly refused: string[];
  /**
   * Stops the server, dropping open sockets and pending delayed answers. Rejects when a
   * scripted turn was refused, so a test built on an impossible call fails in its teardown
   * even if it asserted nothing about it.
   */
  close(): Promise<void>;
}

/** A text-only turn. */
export function textTurn(text: string, usage?: FakeUsage): FakeMessageTurn {
  return usage
    ? { content: [{ type: "text", text }], usage }
    : { content: [{ type: "text", text }] };
}

/** A turn that asks the CLI to run one tool (e.g. "Write" or "mcp__ledger__record_decision"). */
export function toolTurn(name: string, input: unknown, usage?: FakeUsage): FakeMessageTurn {
  const content: FakeContentBlock[] = [{ type: "tool_use", name, input }];
  return usage ? { content, usage } : { content };
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** An HTTP error turn with Anthropic's error body for `status`. */
export function errorTurn(
  status: number,
  message = `fake ${status}`,
  headers?: Record<string, string>,
): FakeErrorTurn {
  const body = { type: "error", error: { type: ERROR_TYPES[status] ?? "api_error", message } };
  return headers ? { status, body, headers } : { status, body };
}

/** A tool result found in a request, joined to the tool_use it answers. */
export interface FakeToolResult {
  toolUseId: string;
  /** Name from the matching tool_use block in the conversation, when present. */
  name: string | undefined;
  /** The result's text blocks joined by newlines (the CLI appends system-reminder text). */
  text: string;
  isError: boolean;
}

/**
 * The tool results in a request's conversation, oldest first. Handy in a {@link FakeTurnFn}: the
 * CLI re-sends the whole conversation on each turn, so the last entry is the newest result.
 */
export function toolResults(body: FakeRequestBody | string | null): FakeToolResult[] {
  if (body === null || typeof body === "string") return [];
  const names = new Map<string, string>();
  const out: FakeToolResult[] = [];
  for (const message of body.messages ?? []) {
    if (typeof message.content === "string") continue;
    for (const block of message.content) {
      if (block.type === "tool_use" && typeof block.id === "string") {
        names.set(block.id, String(block.name));
      } else if (block.type === "tool_result" && typeof block.tool_use_id === "string") {
        out.push({
          toolUseId: block.tool_use_id,
          name: names.get(block.tool_use_id),
          text: contentText(block.content),
          isError: block.is_error === true,
        });
      }
    }
  }
  return out;
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const blocks: unknown[] = content;
  return blocks
    .filter(
      (b): b is { type: "text"; text: string } =>
        typeof b === "object" && b !== null && "type" in b && b.type === "text" && "text" in b,
    )
    .map((b) => b.text)
    .join("\n");
}

function isErrorTurn(turn: FakeTurn): turn is FakeErrorTurn {
  return "status" in turn;
}

let idSeq = 0;
function nextId(prefix: string): string {
  idSeq += 1;
  return `${prefix}_fake${randomUUID().slice(0, 8)}${idSeq.toString(36)}`;
}

function fullUsage(usage: FakeUsage | undefined): FakeUsage {
  const u: FakeUsage = usage ?? DEFAULT_USAGE;
  return {
    input_tokens: u.input_tokens,
    output_tokens: u.output_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: u.cache_read_input_tokens ?? 0,
    ...(u.cache_creation ? { cache_creation: u.cache_creation } : {}),
  };
}

function stopReasonOf(turn: FakeMessageTurn): string {
  return (
    turn.stopReason ?? (turn.content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn")
  );
}

/** The SSE events of one streamed answer, in the order the real API sends them. */
export function sseEvents(
  turn: FakeMessageTurn,
  model: string,
): Array<{ type: string; data: Record<string, unknown> }> {
  const usage = fullUsage(turn.usage);
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  const ev = (type: string, data: Record<string, unknown>): void => {
    events.push({ type, data: { type, ...data } });
  };
  ev("message_start", {
    message: {
      id: nextId("msg"),
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // The real API reports a running output count of ~1 here; the final count is in message_delta.
      usage: { ...usage, output_tokens: 1 },
    },
  });
  turn.content.forEach((block, index) => {
    if (block.type === "text") {
      ev("content_block_start", { index, content_block: { type: "text", text: "" } });
      ev("content_block_delta", { index, delta: { type: "text_delta", text: block.text } });
    } else {
      ev("content_block_start", {
        index,
        content_block: {
          type: "tool_use",
          id: block.id ?? nextId("toolu"),
          name: block.name,
          input: {},
        },
      });
      // Two chunks, so the CLI's partial-JSON accumulation is exercised as with the real API.
      const json = JSON.stringify(block.input ?? {});
      const mid = Math.floor(json.length / 2);
      for (const partial_json of [json.slice(0, mid), json.slice(mid)]) {
        ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json } });
      }
    }
    ev("content_block_stop", { index });
  });
  ev("message_delta", {
    delta: { stop_reason: stopReasonOf(turn), stop_sequence: null },
    usage,
  });
  ev("message_stop", {});
  return events;
}

function jsonMessage(turn: FakeMessageTurn, model: string): Record<string, unknown> {
  return {
    id: nextId("msg"),
    type: "message",
    role: "assistant",
    model,
    content: turn.content.map((b) =>
      b.type === "tool_use"
        ? { type: "tool_use", id: b.id ?? nextId("toolu"), name: b.name, input: b.input ?? {} }
        : b,
    ),
    stop_reason: stopReasonOf(turn),
    stop_sequence: null,
    usage: fullUsage(turn.usage),
  };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

/** Starts the fake API on 127.0.0.1 with a random port. Close it in the test's teardown. */
export async function startFakeAnthropic(
  options: FakeAnthropicOptions = {},
): Promise<FakeAnthropic> {
  const queue: FakeScriptEntry[] = [...(options.script ?? [])];
  const fallback: FakeScriptEntry = options.fallback ?? textTurn("done");
  const requests: FakeRequest[] = [];
  const refused: string[] = [];
  // Delayed answers hold timers that would keep the worker alive after close().
  const timers = new Set<NodeJS.Timeout>();
  let messageIndex = 0;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const answerMessages = async (
    res: ServerResponse,
    body: FakeRequestBody | string | null,
  ): Promise<void> => {
    const index = messageIndex++;
    const parsed: FakeRequestBody = body !== null && typeof body === "object" ? body : {};
    const entry = queue.length > 0 ? queue.shift()! : fallback;
    const turn = typeof entry === "function" ? await entry(parsed, index) : entry;
    if (!isErrorTurn(turn)) {
      const offered = new Set(offeredTools(parsed));
      const impossible = turn.content
        .filter((b) => b.type === "tool_use" && !offered.has(b.name))
        .map((b) => (b.type === "tool_use" ? b.name : ""));
      if (impossible.length > 0) {
        const why = `request ${index} scripts a call of ${impossible.join(", ")}, which it does not offer (offered: ${[...offered].join(", ") || "nothing"})`;
        refused.push(why);
        sendJson(res, 500, errorTurn(500, `fake refused: ${why}`).body, {
          "x-should-retry": "false",
        });
        return;
      }
    }
    if (turn.delayMs) await sleep(turn.delayMs);
    if (res.destroyed) return;
    const requestId = { "request-id": nextId("req") };
    if (isErrorTurn(turn)) {
      const errorBody = turn.body ?? errorTurn(turn.status).body;
      sendJson(res, turn.status, errorBody, {
        "x-should-retry": "false",
        ...requestId,
        ...turn.headers,
      });
      return;
    }
    const model = turn.model ?? parsed.model ?? "claude-sonnet-4-5";
    if (parsed.stream === true) {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        ...requestId,
      });
      for (const { type, data } of sseEvents(turn, model)) {
        res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
      }
      res.end();
    } else {
      sendJson(res, 200, jsonMessage(turn, model), requestId);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: FakeRequestBody | string | null = null;
      if (raw) {
        try {
          body = JSON.parse(raw) as FakeRequestBody;
        } catch {
          body = raw;
        }
      }
      const url = req.url ?? "/";
      const path = url.split("?")[0] ?? url;
      const method = req.method ?? "GET";
      requests.push({ method, path, url, headers: req.headers, body });

      if (method === "POST" && path === "/v1/messages/count_tokens") {
        sendJson(res, 200, { input_tokens: 42 });
      } else if (method === "POST" && path === "/v1/messages") {
        answerMessages(res, body).catch((error: unknown) => {
          // A throwing FakeTurnFn is a test bug: surface it as a non-retryable 500 the test can see.
          if (!res.headersSent) {
            sendJson(res, 500, errorTurn(500, `fake turn threw: ${String(error)}`).body, {
              "x-should-retry": "false",
            });
          }
        });
      } else {
        sendJson(
          res,
          404,
          {
            type: "error",
            error: { type: "not_found_error", message: `fake: no route ${method} ${path}` },
          },
          { "x-should-retry": "false" },
        );
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    messageRequests: () => requests.filter((r) => r.method === "POST" && r.path === "/v1/messages"),
    push: (...entries) => {
      queue.push(...entries);
    },
    get remaining() {
      return queue.length;
    },
    refused,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        server.close(() =>
          refused.length > 0
            ? reject(
                new Error(`the fake Messages API refused impossible calls: ${refused.join("; ")}`),
              )
            : resolve(),
        );
      }),
  };
}

/** A dummy key: the CLI needs some credential or it answers "Not logged in" without calling the API. */
export const FAKE_API_KEY = "sk-ant-test-not-a-real-key";

/**
 * The complete child env that points the bundled CLI at `fake`. The SDK's `env` option REPLACES
 * the child environment, so nothing from the developer's shell (real keys, NODE_OPTIONS) leaks in.
 */
export function claudeTestEnv(
  fake: Pick<FakeAnthropic, "url">,
  configDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    // The CLI starts without PATH/HOME, but its Bash tool needs PATH and tools resolve `~` via HOME.
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: process.env.HOME ?? homedir(),
    ANTHROPIC_BASE_URL: fake.url,
    ANTHROPIC_API_KEY: FAKE_API_KEY,
    // Otherwise the CLI also probes HEAD /api/hello and sends telemetry that fails offline.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    // Keeps ~/.claude untouched: .claude.json, backups/, plugins/ and sessions/ land here.
    CLAUDE_CONFIG_DIR: configDir,
    // The default of 10 retries turns one scripted 500/401/529 into ~3.5 minutes of backoff.
    CLAUDE_CODE_MAX_RETRIES: "0",
    ...extra,
  };
}

/** Absolute path of the fake `claude` executable, for `pathToClaudeCodeExecutable` (route 2). */
export const FAKE_CLAUDE_PATH = fileURLToPath(
  new URL("../fixtures/fake-claude.mjs", import.meta.url),
);

/** Everything one bounded query run produced. */
export interface QueryRun {
  messages: SDKMessage[];
  /** The last `result` message; error results are yielded before the iterator throws. */
  result: SDKResultMessage | undefined;
  /** What the iterator threw, if anything (every is_error result is followed by a throw). */
  error: unknown;
  /** True when our own timeout fired. */
  timedOut: boolean;
}

/**
 * Drains a query with a hard timeout. `start` receives the AbortController to put in the
 * options: the SDK only stops the CLI through it, and a run stuck on the API would otherwise
 * outlive the test.
 */
export async function runQuery(
  start: (abortController: AbortController) => AsyncIterable<SDKMessage>,
  timeoutMs = 30_000,
): Promise<QueryRun> {
  const abortController = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abortController.abort();
  }, timeoutMs);
  const run: QueryRun = { messages: [], result: undefined, error: undefined, timedOut: false };
  try {
    for await (const message of start(abortController)) {
      run.messages.push(message);
      if (message.type === "result") run.result = message;
    }
  } catch (error) {
    run.error = error;
  } finally {
    clearTimeout(timer);
  }
  run.timedOut = timedOut;
  return run;
}
