import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/**
 * A chunk of the chain as the database wrote it, in UTF-8: per row its JSON array, a newline
 * and its stored hash in hex, rows joined by newlines. The bytes move to the worker (the
 * caller cannot use them after), which decodes them: that is work off the main thread.
 */
export interface ChainJob {
  bytes: Uint8Array;
  /** How many rows `bytes` holds. */
  rows: number;
  /** The stored hash (hex) of the row before the first. */
  prev: string;
  /** A head hash to look for among the stored hashes, or null. */
  head: string | null;
  /** The action of a seal, when seals are to be checked; else null. */
  seal: string | null;
  /** The audited entity types: rows about one give their entity and recorded digest. */
  types: readonly string[];
  /** The actions that move money. */
  money: readonly string[];
}

/**
 * A digest an audit row recorded, as the hashers read it from the row's JSON: a string, null
 * when the details record none, or 0 when the details must decide (the key appears twice, or
 * the characters after it are escaped), which the main thread then reads itself.
 */
export type ReadDigest = string | null | 0;

/** What the hashers found in a chain chunk: whether it is intact, and what its rows hold. */
export type ChainVerdict =
  | { intact: false }
  | {
      intact: true;
      /** The first row whose stored hash is the head looked for, or -1. */
      headAt: number;
      /** The seals among the rows: where, their details, the stored hash of the row before. */
      seals: { row: number; details: string; prev: string }[];
      /** Per type of `types`: the rows about one of its entities, in order. */
      entities: { ids: string[]; rows: number[]; digests: ReadDigest[] }[];
      /** Ids of the notifications recorded. */
      notices: string[];
      /** The money rows: action, entity id, details. */
      money: [string, string | null, string][];
    };

/**
 * Rows of audited entities as the database wrote them, in UTF-8: per row the JSON array of
 * its digest columns, rows joined by newlines; and the digest each one must have (null: none
 * recorded). The bytes move to the worker.
 */
export interface DigestJob {
  bytes: Uint8Array;
  expected: readonly (string | null)[];
}

// Plain JavaScript evaluated from this string (as the checkpointer's worker), so it runs the
// same from the built package and from the TypeScript sources under test. It only decodes,
// hashes and reads text: the main thread holds the one read transaction and reads every row.
// The text decodes as the driver decodes each value for the reference check.
const WORKER_SOURCE = String.raw`
const { parentPort } = require("node:worker_threads");
const crypto = require("node:crypto");
const sha256 = crypto.hash
  ? (text) => crypto.hash("sha256", text, "hex")
  : (text) => crypto.createHash("sha256").update(text).digest("hex");
const decoder = new TextDecoder();

// The key of a recorded digest as it reads inside a JSON string: \"digest\":\"
const KEY = JSON.stringify('"digest":"').slice(1, -1);

// Where the string that starts at "from" (past its opening quote) ends: its closing quote.
function closingQuote(json, from) {
  for (let at = json.indexOf('"', from); at >= 0; at = json.indexOf('"', at + 1)) {
    let escapes = 0;
    while (json.charCodeAt(at - 1 - escapes) === 92) escapes++;
    if (escapes % 2 === 0) return at;
  }
  return -1;
}

// A row's JSON array, [seq,"ts","actor","action","entity_type",<"entity_id"|null>,"details"],
// from "from" to "end" in "json", split at its commas: where values 2 to 7 start (their
// quote, or the n of null). Null when one of values 2 to 6 is neither a string nor null, or
// the details are not a string.
function valueStarts(json, from, end) {
  const starts = [];
  let at = json.indexOf(",", from);
  for (let value = 0; value < 6; value++) {
    if (at < 0 || at >= end) return null;
    at++;
    starts.push(at);
    if (value === 5) return json.charCodeAt(at) === 34 ? starts : null;
    if (json.startsWith("null,", at)) at += 4;
    else if (json.charCodeAt(at) === 34) at = closingQuote(json, at + 1) + 1;
    else return null;
    if (at === 0 || json.charCodeAt(at) !== 44) return null;
  }
  return null;
}

// The recorded digest of a row (see ReadDigest), from its details as JSON writes them: the
// key and any 64 characters without an escape or a quote read the same as in the details.
function recordedDigest(json, detailsAt, end) {
  const at = json.indexOf(KEY, detailsAt);
  if (at < 0 || at >= end) return null;
  const next = json.indexOf(KEY, at + 1);
  if (next >= 0 && next < end) return 0;
  const digest = json.slice(at + KEY.length, at + KEY.length + 64);
  return digest.length === 64 && !/["\\]/.test(digest) ? digest : 0;
}

// The value of the JSON string or null that "json" holds from "from" to "to".
function valueOf(json, from, to) {
  if (json.charCodeAt(from) !== 34) return null;
  const token = json.slice(from, to);
  return token.includes("\\") ? JSON.parse(token) : token.slice(1, -1);
}

// Checks each row's hash, then gathers from it what the walk would (see ChainWalk.check).
function chain({ bytes, rows, prev, head, seal, types, money }) {
  const text = decoder.decode(bytes);
  const seals = [];
  const entities = types.map(() => ({ ids: [], rows: [], digests: [] }));
  const notices = [];
  const moneyRows = [];
  let headAt = -1;
  let at = 0;
  for (let i = 0; i < rows; i++) {
    const mid = text.indexOf("\n", at);
    if (mid < 0) return { intact: false };
    let end = text.indexOf("\n", mid + 1);
    if (end < 0) end = text.length;
    const stored = text.slice(mid + 1, end);
    if (sha256(prev + text.slice(at, mid)) !== stored) return { intact: false };
    if (headAt < 0 && stored === head) headAt = i;
    const starts = valueStarts(text, at, mid);
    if (starts === null) return { intact: false };
    const action = valueOf(text, starts[2], starts[3] - 1);
    const entityId = valueOf(text, starts[4], starts[5] - 1);
    const details = () => valueOf(text, starts[5], mid - 1);
    if (seal !== null && action === seal) seals.push({ row: i, details: details(), prev });
    if (entityId !== null) {
      const type = types.indexOf(valueOf(text, starts[3], starts[4] - 1));
      if (type >= 0) {
        entities[type].ids.push(entityId);
        entities[type].rows.push(i);
        entities[type].digests.push(recordedDigest(text, starts[5] + 1, mid));
      } else if (action === "notification.recorded") {
        notices.push(entityId);
      }
    }
    if (money.includes(action)) moneyRows.push([action, entityId, details()]);
    prev = stored;
    at = end + 1;
  }
  if (at !== text.length + 1) return { intact: false };
  return { intact: true, headAt, seals, entities, notices, money: moneyRows };
}

// JSON.stringify's text of the values: the database may write a number differently.
function restated(json) {
  try {
    return JSON.stringify(JSON.parse(json));
  } catch {
    return "";
  }
}

function digests({ bytes, expected }) {
  const text = decoder.decode(bytes);
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    // "!": a value the database cannot write as JSON; always the slow way, digest or not.
    if (text.charCodeAt(at) === 33) return false;
    const want = expected[i];
    if (want !== null) {
      const json = text.slice(at, end);
      if (sha256(json) !== want && sha256(restated(json)) !== want) return false;
    }
    at = end + 1;
  }
  return at === text.length + 1;
}

parentPort.on("message", ({ id, kind, job }) => {
  parentPort.postMessage({ id, answer: kind === "chain" ? chain(job) : digests(job) });
});
`;

type Pending = Map<number, (answer: unknown) => void>;

/**
 * Worker threads that hash chunks of rows while the main thread reads the next ones. An
 * answer of null means no worker could give one (not started, failed to start, or died): the
 * caller then checks those rows itself, the slow way, so the hashers only ever save time.
 */
export class Hashers {
  private readonly workers: { worker: Worker; pending: Pending }[] = [];
  private started = false;
  private nextJob = 0;

  /** `count` workers, when started: by default one per core left to spare, at most two. */
  constructor(private readonly count = Math.min(2, Math.max(1, availableParallelism() - 1))) {}

  /**
   * Starts the workers, once. Worth it from a second chunk on: starting one costs about as
   * much as checking a chunk on this thread.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.count; i++) this.spawn();
  }

  private spawn(): void {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true });
    } catch {
      return;
    }
    const entry = { worker, pending: new Map() as Pending };
    this.workers.push(entry);
    const fail = () => {
      const at = this.workers.indexOf(entry);
      if (at >= 0) this.workers.splice(at, 1);
      for (const answer of entry.pending.values()) answer(null);
      entry.pending.clear();
    };
    worker.on("message", ({ id, answer }: { id: number; answer: unknown }) => {
      entry.pending.get(id)?.(answer);
      entry.pending.delete(id);
    });
    worker.on("error", fail);
    worker.on("exit", fail);
  }

  chain(job: ChainJob): Promise<ChainVerdict | null> {
    return this.post("chain", job) as Promise<ChainVerdict | null>;
  }

  /** True when every row has its expected digest. */
  digests(job: DigestJob): Promise<boolean | null> {
    return this.post("digests", job) as Promise<boolean | null>;
  }

  private post(kind: string, job: ChainJob | DigestJob): Promise<unknown> {
    const id = this.nextJob++;
    const entry = this.workers[id % this.workers.length];
    if (!entry) return Promise.resolve(null);
    // Moved rather than copied, when the bytes are all their buffer holds.
    const { bytes } = job;
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return new Promise((resolve) => {
      entry.pending.set(id, resolve);
      entry.worker.postMessage({ id, kind, job }, own ? [bytes.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }
}
