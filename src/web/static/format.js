// Formatting of ledger values for the page: plain strings, never markup.

/** Dollars: cents normally, more digits for the tiny amounts one call can cost. */
export function usd(n) {
  const value = Number(n) || 0;
  if (value !== 0 && Math.abs(value) < 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toFixed(2)}`;
}

/** @param {number} n */
export function count(n) {
  return Number(n).toLocaleString("en-US");
}

/** `in_progress` -> `in progress`. @param {string} status */
export function statusLabel(status) {
  return status.replace("_", " ");
}

/** The last characters of an id: ULIDs differ at the end when filed together. */
export function shortId(id) {
  return id.length > 10 ? `…${id.slice(-8)}` : id;
}

/** "12s ago", "5m ago", "3h ago", "2d ago". @param {string | null} iso @param {number} now */
export function ago(iso, now) {
  if (!iso) return "—";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours}h ago`;
  return `${Math.round(hours / 24)}d ago`;
}

/** `2026-05-06 09:30:12 UTC`. @param {string | null} iso */
export function utc(iso) {
  if (!iso) return "—";
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

// Audit details worth a glance; hashes and digests only add noise to a feed.
const NOISY_KEYS = new Set(["digest", "prev_hash", "row_hash", "claim_token"]);

/** An audit row's details as `key: value` pairs on one line. @param {string} details */
export function detailsText(details) {
  let parsed;
  try {
    parsed = JSON.parse(details);
  } catch {
    return details.slice(0, 200);
  }
  if (!parsed || typeof parsed !== "object") return String(parsed);
  const parts = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (NOISY_KEYS.has(key) || value === null || (Array.isArray(value) && value.length === 0)) {
      continue;
    }
    const text = typeof value === "string" ? value : JSON.stringify(value);
    parts.push(`${key.replaceAll("_", " ")}: ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`);
  }
  return parts.join(" · ");
}
