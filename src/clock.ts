import { randomFillSync } from "node:crypto";
import { encodeTime, monotonicFactory } from "ulid";

/**
 * Where "now" comes from. Everything that reads the time takes a Clock, so tests can move
 * time across a UTC midnight or a 10-minute failure window without sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests and simulations. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.parse("2026-01-01T00:00:00Z")) {}
  now(): number {
    return this.ms;
  }
  /** Moves time forward (or backward, for clock-jump tests) by `ms`. */
  advance(ms: number): void {
    this.ms += ms;
  }
  set(iso: string | number): void {
    this.ms = typeof iso === "number" ? iso : Date.parse(iso);
  }
}

/** ISO-8601 UTC timestamp with milliseconds, e.g. `2026-05-06T09:30:00.000Z`. */
export function utcIsoNow(clock: Clock = systemClock): string {
  return isoAt(clock.now());
}

/** The last whole second {@link isoAt} formatted, and its text up to the milliseconds. */
let second = Number.NaN;
let secondText = "";

/** The last instant `toISOString` can write with a four-digit year. */
const LAST_FOUR_DIGIT_MS = 253_402_300_799_999;

/**
 * `new Date(ms).toISOString()`, with the text of the current second kept: every ledger write
 * stamps the time two or three times, and the date's formatting is most of the cost.
 */
export function isoAt(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > LAST_FOUR_DIGIT_MS) {
    return new Date(ms).toISOString();
  }
  const whole = Math.floor(ms / 1000);
  if (whole !== second) {
    // "YYYY-MM-DDTHH:MM:SS." of this second.
    secondText = new Date(whole * 1000).toISOString().slice(0, 20);
    second = whole;
  }
  const milli = ms - whole * 1000;
  return `${secondText}${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`;
}

/** The UTC calendar day, `YYYY-MM-DD`; budgets and reports roll over on it. */
export function utcToday(clock: Clock = systemClock): string {
  return utcIsoNow(clock).slice(0, 10);
}

/** True for a real calendar day written `YYYY-MM-DD` (2026-02-30 is not one). */
export function isCalendarDay(value: unknown): value is string {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  // Date.parse rolls 2026-02-30 over into March; a round trip catches that.
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === value;
}

/**
 * Random numbers in [0, 1) for ULIDs, drawn from a pool refilled 4 KiB at a time: the default
 * source asks the OS once per character (about 100 µs per id), this once per 256 ids. Each
 * byte is a multiple of 1/256, so the 32-letter alphabet is drawn exactly uniformly.
 */
function pooledRandom(): () => number {
  const pool = new Uint8Array(4096);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    return pool[next++]! / 256;
  };
}

/** Monotonic ULIDs: sortable by creation time even within one millisecond. */
const ulid = monotonicFactory(pooledRandom());

/** A new ULID, timestamped from `clock`. */
export function newId(clock: Clock = systemClock): string {
  return ulid(clock.now());
}

/**
 * The smallest id a ULID made at `ms` or later can have: ids of tasks filed since then are
 * a range of the primary key.
 */
export function smallestIdAt(ms: number): string {
  return `${encodeTime(Math.max(0, ms))}${"0".repeat(16)}`;
}
