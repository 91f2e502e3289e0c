import type { Tx } from "../../storage.js";
import type { AuditProblem } from "./index.js";

/** The audit actions that move money, in chain order: what {@link verifyMoney} replays. */
export const MONEY_ACTIONS: readonly string[] = [
  "budget.held",
  "budget.settled",
  "budget.exceeded",
  "budget.holds_released",
];

/** A money row of the chain: action, role (the row's entity id), details. */
export type MoneyRow = [string, string | null, string];

/**
 * Rebuilds the money from the chain and holds the tables to it: each day's spend per role
 * (the audited settlements), the holds still open (audited when taken, settled or released),
 * and the notifications recorded. A table edited behind the ledger's back (`UPDATE budget SET
 * spent_usd = 0`, a deleted hold or notice) disagrees with the chain.
 */
export async function verifyMoney(
  tx: Tx,
  money: readonly MoneyRow[],
  notices: Set<string>,
): Promise<AuditProblem | null> {
  const key = (day: unknown, role: unknown) => `${String(role)} on ${String(day)}`;
  const spent = new Map<string, number>();
  const open = new Map<string, string>();
  const closed = new Set<string>();
  for (const [action, role, text] of money) {
    const d = JSON.parse(text) as Record<string, unknown>;
    if (action === "budget.held") {
      open.set(String(d.reservation_id), key(d.day, role));
    } else if (action === "budget.holds_released") {
      for (const id of d.reservations as string[]) {
        open.delete(id);
        closed.add(id);
      }
    } else {
      const k = key(d.day, role);
      spent.set(k, (spent.get(k) ?? 0) + Number(d.cost_usd));
      open.delete(String(d.reservation_id));
      closed.add(String(d.reservation_id));
    }
  }
  const rows = await tx.all<{ day: string; role: string; spent_usd: number }>(
    "SELECT day, role, spent_usd FROM budget",
  );
  for (const { day, role, spent_usd } of rows) {
    const usd = Number(spent_usd);
    const k = key(day, role);
    const audited = spent.get(k) ?? 0;
    spent.delete(k);
    if (Math.abs(usd - audited) > 1e-6) {
      return {
        seq: null,
        reason: `the budget of ${k} says $${usd} spent, but its audited settlements add up to $${audited}: the budget table was edited behind the ledger's back`,
      };
    }
  }
  for (const [k, audited] of spent) {
    if (audited > 1e-6) {
      return {
        seq: null,
        reason: `the budget of ${k} is missing, but its audited settlements add up to $${audited}: it was deleted behind the ledger's back`,
      };
    }
  }
  const held = await tx.all<{ id: string; day: string; role: string }>(
    "SELECT id, day, role FROM budget_reservations WHERE state = 'held'",
  );
  for (const { id, day, role } of held) {
    if (closed.has(id)) {
      return {
        seq: null,
        reason: `hold ${id} (${key(day, role)}) is held, but the chain closed it: the budget holds were edited behind the ledger's back`,
      };
    }
    // Not in the chain either way: a hold taken before holds were audited.
    open.delete(id);
  }
  const [missing] = open;
  if (missing) {
    return {
      seq: null,
      reason: `hold ${missing[0]} (${missing[1]}) is open in the chain but not held: it was released or deleted behind the ledger's back`,
    };
  }
  let unaudited: string | null = null;
  await tx.scan("SELECT id FROM notifications", undefined, (row) => {
    const id = String(row[0]);
    if (notices.delete(id)) return true;
    unaudited = id;
    return false;
  });
  if (unaudited !== null) {
    return {
      seq: null,
      entityId: unaudited,
      reason: `notification ${unaudited} has no audit row: it was written behind the ledger's back`,
    };
  }
  const [deleted] = notices;
  if (deleted) {
    return {
      seq: null,
      entityId: deleted,
      reason: `notification ${deleted} was deleted behind the ledger's back`,
    };
  }
  return null;
}
