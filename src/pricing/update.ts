/**
 * `producer pricing update`: fetch a machine-readable price list, check it, show what would
 * change, and write it as the project-local override. Any failure leaves the override as it
 * was: the new file is only renamed into place once everything has passed.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Clock, systemClock, utcToday } from "../clock.js";
import { asError, ProducerError } from "../errors.js";
import { diffPriceTables, type PriceDiff } from "./diff.js";
import { type PriceDocument, readPriceDocument, renderPriceDocument } from "./format.js";
import { groupPriceList, modelsMissingFrom, readPriceList, validatePriceList } from "./incoming.js";
import { bundledPriceTable, loadPriceTable, mergePriceTables, type PriceTable } from "./table.js";

/** How long a price-list download may take before it counts as a network failure. */
export const PRICE_FETCH_TIMEOUT_MS = 20_000;

/** Where a price list is read from. */
export type PriceSource = { kind: "url"; url: string } | { kind: "file"; path: string };

/**
 * Reads `--source` (or `pricing.update_source`): an http(s) URL, a `file:` URL, or a path
 * resolved against `cwd`. Null for any other URL scheme.
 */
export function parsePriceSource(source: string, cwd: string): PriceSource | null {
  if (/^https?:\/\//i.test(source)) return { kind: "url", url: source };
  if (/^file:/i.test(source)) {
    try {
      return { kind: "file", path: fileURLToPath(source) };
    } catch {
      return null;
    }
  }
  if (/^[a-z][a-z\d+.-]*:\/\//i.test(source)) return null;
  return { kind: "file", path: resolve(cwd, source) };
}

function describeSource(source: PriceSource): string {
  return source.kind === "url" ? source.url : source.path;
}

/** The useful part of a fetch failure: undici hides the socket error in `cause`. */
function fetchFailure(error: unknown, timeoutMs: number): string {
  const err = asError(error);
  if (err.name === "TimeoutError" || err.name === "AbortError") {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  let cause: unknown = err.cause;
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0];
  if (cause instanceof Error) {
    return cause.message || (cause as NodeJS.ErrnoException).code || err.message;
  }
  return err.message;
}

async function download(url: string, timeoutMs: number): Promise<string> {
  const failed = (why: string, cause?: unknown) =>
    new ProducerError(`could not fetch price list from ${url}: ${why}`, { cause });
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: "application/json" },
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw failed(
        `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
      );
    }
    return await response.text();
  } catch (error) {
    if (error instanceof ProducerError) throw error;
    throw failed(fetchFailure(error, timeoutMs), error);
  }
}

function readSourceFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : asError(error).message;
    throw new ProducerError(`could not read price list ${path}: ${why}`, { cause: error });
  }
}

/** The temp file sits beside the target so the rename stays on one file system (atomic). */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(temp, text);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new ProducerError(`could not write price override ${file}: ${asError(error).message}`, {
      cause: error,
    });
  }
}

/** Options of {@link updatePricing}. */
export interface PricingUpdateOptions {
  source: PriceSource;
  /** The project's override file (`config.pricing.overrideFile`). */
  overrideFile: string;
  /** Check and diff only; write nothing. */
  dryRun?: boolean;
  /** Dates a LiteLLM list (which carries no date of its own). */
  clock?: Clock;
  timeoutMs?: number;
  /**
   * Called with the sha256 (hex) of the override before it is written, to record it where a
   * running Producer will look (the ledger's audit log): only a recorded override is applied.
   */
  record?: (digest: string) => Promise<void>;
}

/** What an update found and did. */
export interface PricingUpdateResult {
  /** The URL or absolute path read. */
  source: string;
  format: "litellm" | "producer";
  /** The `checked` date written: today for a LiteLLM list, the file's own for ours. */
  checked: string;
  /** Models in the new override. */
  models: number;
  /** Claude chat entries the list has no cache prices for, left out. */
  skipped: string[];
  diff: PriceDiff;
  overrideFile: string;
  /** False on a dry run. */
  written: boolean;
  /** The existing override could not be read and is replaced (its error message), else null. */
  replacedBrokenOverride: string | null;
  /** Bundled models the list does not name: they keep their bundled prices. */
  missingModels: string[];
  /** sha256 (hex) of the override text written (or that would be written). */
  digest: string;
}

const MAX_LISTED_PROBLEMS = 6;

/**
 * Fetches (or reads) a price list, validates it against the bundled table, diffs it with the
 * prices in force and, unless `dryRun`, writes it as the override. Network, HTTP, JSON and
 * validation failures throw a one-line ProducerError and write nothing.
 */
export async function updatePricing(options: PricingUpdateOptions): Promise<PricingUpdateResult> {
  const { source, overrideFile } = options;
  const where = describeSource(source);
  const text =
    source.kind === "url"
      ? await download(source.url, options.timeoutMs ?? PRICE_FETCH_TIMEOUT_MS)
      : readSourceFile(source.path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProducerError(`price list from ${where} is not valid JSON`, { cause: error });
  }
  const list = readPriceList(value, where);
  const bundled = bundledPriceTable();
  const problems = validatePriceList(list);
  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_LISTED_PROBLEMS).join("; ");
    const more =
      problems.length > MAX_LISTED_PROBLEMS
        ? `; and ${problems.length - MAX_LISTED_PROBLEMS} more`
        : "";
    throw new ProducerError(`price list from ${where} failed validation: ${shown}${more}`);
  }

  const document: PriceDocument = {
    checked: list.checked ?? utcToday(options.clock ?? systemClock),
    source: where,
    models: groupPriceList(list, bundled),
  };
  const rendered = renderPriceDocument(document);
  // The override must load next time; a list whose names collide would not, so refuse it now.
  const reread = readPriceDocument(JSON.parse(rendered));
  if (!reread.ok) {
    throw new ProducerError(
      `price list from ${where} cannot be used: ${reread.problems.slice(0, MAX_LISTED_PROBLEMS).join("; ")}`,
    );
  }

  let before: PriceTable;
  let replacedBrokenOverride: string | null = null;
  try {
    before = loadPriceTable({ overrideFile, clock: options.clock });
  } catch (error) {
    if (!(error instanceof ProducerError)) throw error;
    // A broken override is exactly what an update should be able to repair.
    replacedBrokenOverride = error.message;
    before = bundled;
  }
  const after = mergePriceTables(bundled, document, overrideFile);
  const digest = createHash("sha256").update(rendered).digest("hex");
  if (!options.dryRun) {
    // Recorded first: a record without its file is harmless, a file without its record
    // would be refused by a running Producer.
    await options.record?.(digest);
    writeAtomically(overrideFile, rendered);
  }
  return {
    source: where,
    format: list.format,
    checked: document.checked!,
    models: Object.keys(document.models).length,
    skipped: list.skipped,
    diff: diffPriceTables(before, after),
    overrideFile,
    written: !options.dryRun,
    replacedBrokenOverride,
    missingModels: modelsMissingFrom(list, bundled),
    digest,
  };
}
