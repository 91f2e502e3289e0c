import * as crypto from "node:crypto";
import type { Tx } from "../storage.js";
import type { AuditRow } from "../types.js";

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped. Two equal
 * values always serialise to the same text, which is what makes the audit hashes stable.
 */
export function canonicalJson(value: unknown): string {
  return canonicalWith(value, undefined, undefined);
}

/**
 * {@link canonicalJson} of `object` with one more member, `key` (absent from `object`):
 * what an audit row's details with their digest added serialise to, without a copy.
 */
export function canonicalWith(object: unknown, key: string | undefined, value: unknown): string {
  return flatJson(object, key, value) ?? slowJson(object, key, value);
}

function slowJson(object: unknown, key: string | undefined, value: unknown): string {
  const whole = key === undefined ? object : { ...(object as object), [key]: value };
  return JSON.stringify(sortKeys(whole));
}

/** The text of each member name seen so far: the audit log writes the same few names always. */
const nameTexts = new Map<string, string>();

function nameText(name: string): string {
  let text = nameTexts.get(name);
  if (text === undefined) {
    text = JSON.stringify(name);
    if (nameTexts.size < 1_000) nameTexts.set(name, text);
  }
  return text;
}

/**
 * The canonical text of a plain object whose members are strings, numbers, booleans, nulls
 * or arrays of those (every detail the ledger itself writes), written straight out: building
 * a sorted copy first costs more than the writing. Null for anything else, which
 * {@link slowJson} serialises the long way; both give the same text for what this accepts.
 */
function flatJson(object: unknown, key: string | undefined, value: unknown): string | null {
  if (
    object === null ||
    typeof object !== "object" ||
    Object.getPrototypeOf(object) !== Object.prototype
  ) {
    return null;
  }
  const members = object as Record<string, unknown>;
  const names = Object.keys(members);
  // A member of that name already there is replaced, as a spread would.
  if (key !== undefined && !Object.hasOwn(members, key)) names.push(key);
  names.sort();
  let text = "{";
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    // The slow path's copy would set the prototype, not a member, for this one name.
    if (name === "__proto__") return null;
    const member = name === key ? value : members[name];
    if (member === undefined) continue;
    const written = flatValue(member);
    if (written === null) return null;
    text += `${text.length === 1 ? "" : ","}${nameText(name)}:${written}`;
  }
  return `${text}}`;
}

function flatValue(value: unknown): string | null {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      // JSON writes a finite number as String does, and anything else as null.
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value) && value.every(isFlatElement)) return JSON.stringify(value);
      return null;
    default:
      return null;
  }
}

/** An array element `JSON.stringify` writes as the slow path would. */
const isFlatElement = (element: unknown): boolean =>
  element === null ||
  typeof element === "string" ||
  typeof element === "number" ||
  typeof element === "boolean";

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = sortKeys(member);
    }
    return out;
  }
  return value;
}

// One-shot hashing (Node >= 20.12) is about twice as fast as a Hash object for short inputs,
// and the audit chain hashes every row it writes or verifies.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string })
  .hash;

/** Lower-case hex SHA-256 of a UTF-8 string. */
export const sha256Hex: (text: string) => string = oneShot
  ? (text) => oneShot("sha256", text, "hex")
  : (text) => crypto.createHash("sha256").update(text).digest("hex");

/** How a digested column's value is written into its digest, whatever the driver returned. */
type ColumnKind = "text" | "number";

const text = (name: string) => [name, "text"] as const;
const number = (name: string) => [name, "number"] as const;

/**
 * What an audited entity's digest covers: these columns, in this order. Each value is
 * normalised by kind before hashing (a driver may return a bigint as text, or a timestamp as
 * a Date), so every backend hashes the same row to the same digest.
 */
export const AUDITED_ENTITIES = {
  task: {
    table: "tasks",
    columns: [
      text("id"),
      text("agent_owner"),
      text("title"),
      text("description"),
      text("payload"),
      number("priority"),
      text("status"),
      number("attempts"),
      text("parent_task_id"),
      text("depends_on"),
      number("cost_usd"),
      number("actual_cost_usd"),
      number("input_tokens"),
      number("output_tokens"),
      number("cache_creation_tokens"),
      number("cache_read_tokens"),
      text("result"),
      text("last_error"),
      text("created_by"),
    ],
  },
  decision: {
    table: "decisions",
    columns: [
      "id",
      "task_id",
      "agent_owner",
      "kind",
      "decision_text",
      "rationale",
      "created_at",
    ].map(text),
  },
  asset: {
    table: "asset_registry",
    columns: ["id", "task_id", "agent_owner", "path", "kind", "description", "created_at"].map(
      text,
    ),
  },
} as const satisfies Record<
  string,
  { table: string; columns: readonly (readonly [string, ColumnKind])[] }
>;

/** Entity types whose rows carry a digest that `verify` compares with the live row. */
export type AuditedEntity = keyof typeof AUDITED_ENTITIES;

export function isAuditedEntity(type: string): type is AuditedEntity {
  return Object.hasOwn(AUDITED_ENTITIES, type);
}

/** The SELECT list of an audited entity's digested columns. */
export function digestColumns(type: AuditedEntity): string {
  return AUDITED_ENTITIES[type].columns.map(([name]) => name).join(", ");
}

// Built once: every audited write reads its row back through one of these.
const ROW_BY_ID = Object.fromEntries(
  (Object.keys(AUDITED_ENTITIES) as AuditedEntity[]).map((type) => [
    type,
    `SELECT ${digestColumns(type)} FROM ${AUDITED_ENTITIES[type].table} WHERE id = ?`,
  ]),
) as Record<AuditedEntity, string>;

function normalise(kind: ColumnKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (kind === "number") return Number(value);
  return value instanceof Date ? value.toISOString() : String(value);
}

/**
 * The digest of one audited row's values (in `digestColumns` order): SHA-256 of the JSON
 * array of the normalised values. Pinned by a test: changing it breaks every existing chain.
 */
export function digestOf(type: AuditedEntity, values: readonly unknown[]): string {
  const columns = AUDITED_ENTITIES[type].columns;
  // Most rows need no change (SQLite returns exactly these types): verify digests every row.
  const canonical = values.every((v, i) => isCanonical(columns[i]![1], v))
    ? values
    : values.map((v, i) => normalise(columns[i]![1], v));
  return sha256Hex(JSON.stringify(canonical));
}

function isCanonical(kind: ColumnKind, value: unknown): boolean {
  return value === null || typeof value === (kind === "number" ? "number" : "string");
}

/**
 * A digest function for rows the caller already holds as arrays in `names` order (a
 * `RETURNING` of every column): the digested columns are picked by position.
 */
export function digestFromColumns(
  type: AuditedEntity,
  names: readonly string[],
): (values: readonly unknown[]) => string {
  const at = AUDITED_ENTITIES[type].columns.map(([name]) => {
    const index = names.indexOf(name);
    if (index < 0) throw new Error(`column ${name} of the ${type} digest is not read`);
    return index;
  });
  return (values) =>
    digestOf(
      type,
      at.map((i) => values[i]),
    );
}

/** The digest of the entity's row as it stands, or null when it does not exist. */
export async function auditedDigest(
  tx: Tx,
  type: AuditedEntity,
  id: string,
): Promise<string | null> {
  const values = await tx.tuple(ROW_BY_ID[type], [id]);
  return values ? digestOf(type, values) : null;
}

/** The fields of an audit row its hash covers (a driver may give `seq` as text). */
export type HashedAuditFields = Omit<AuditRow, "seq" | "prevHash" | "rowHash"> & {
  seq: number | string;
};

/** The hashed fields in their stored and hashed order, `seq` as a number. */
export function hashedValues(row: HashedAuditFields): unknown[] {
  return [
    Number(row.seq),
    row.ts,
    row.actor,
    row.action,
    row.entityType,
    row.entityId,
    row.details,
  ];
}

/**
 * A row's hash: SHA-256 of the previous row's hash followed by the JSON array of its fields.
 * Pinned by a test, like {@link digestOf}.
 */
export function rowHash(prevHash: string, row: HashedAuditFields): string {
  return chainHash(prevHash, hashedValues(row));
}

/** {@link rowHash} of a row given as its {@link hashedValues}. */
export function chainHash(prevHash: string, values: readonly unknown[]): string {
  return sha256Hex(prevHash + JSON.stringify(values));
}
