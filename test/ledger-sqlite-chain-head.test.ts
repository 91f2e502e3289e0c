import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LedgerClient, LedgerError } from "../src/index.js";
import { SqliteChainHead } from "../src/ledger/sqlite/chain-head.js";
import { tempDir } from "./helpers/temp.js";

const DIST = resolve(import.meta.dirname, "..", "dist", "index.js");

/** Files one task from a separate process, as another `producer task add` would. */
function addFromAnotherProcess(dbPath: string, title: string): void {
  const script = `
    const { LedgerClient } = await import(${JSON.stringify(DIST)});
    const ledger = await LedgerClient.open({ dbPath: ${JSON.stringify(dbPath)}, create: false, actor: "other" });
    await ledger.insertTask({ agentOwner: "code", title: ${JSON.stringify(title)} });
    await ledger.close();`;
  execFileSync(process.execPath, ["--input-type=module", "-e", script], { stdio: "pipe" });
}

/** Seqs and titles of the chain, oldest first, and whether it verifies. */
async function chainOf(ledger: LedgerClient) {
  const rows = (await ledger.recentAudit(1000)).reverse();
  const verified = await ledger.verifyAuditChain();
  return {
    ok: verified.ok,
    seqs: rows.map((r) => r.seq),
    titles: rows.map((r) => (JSON.parse(r.details) as { title?: string }).title),
  };
}

describe("the audit head carried between one connection's writes", () => {
  it("is read again after another connection appended in between", async () => {
    const dbPath = join(tempDir(), "ledger.db");
    const a = await LedgerClient.open({ dbPath, actor: "a" });
    const b = await LedgerClient.open({ dbPath, actor: "b" });
    const titles: string[] = [];
    for (let i = 0; i < 5; i++) {
      for (const [name, client] of [
        ["a", a],
        ["a", a],
        ["b", b],
      ] as const) {
        const title = `${name} ${titles.length}`;
        await client.insertTask({ agentOwner: "code", title });
        titles.push(title);
      }
    }
    const chain = await chainOf(a);
    expect(chain.ok).toBe(true);
    expect(chain.seqs).toEqual(titles.map((_, i) => i + 1));
    expect(chain.titles).toEqual(titles);
    await a.close();
    await b.close();
  });

  it("is read again after another process appended in between", async () => {
    const dbPath = join(tempDir(), "ledger.db");
    const ledger = await LedgerClient.open({ dbPath, actor: "here" });
    await ledger.insertTask({ agentOwner: "code", title: "first here" });
    addFromAnotherProcess(dbPath, "from elsewhere");
    await ledger.insertTask({ agentOwner: "code", title: "second here" });
    const chain = await chainOf(ledger);
    expect(chain).toEqual({
      ok: true,
      seqs: [1, 2, 3],
      titles: ["first here", "from elsewhere", "second here"],
    });
    await ledger.close();
  });

  it("is not carried from a transaction that rolled back", async () => {
    const dbPath = join(tempDir(), "ledger.db");
    const ledger = await LedgerClient.open({ dbPath, actor: "here", roles: ["code"] });
    await ledger.insertTask({ agentOwner: "code", title: "kept" });
    // The first task of the batch is appended to the chain, then the second is refused and
    // the whole batch rolls back: its head must not be the next append's previous row.
    await expect(
      ledger.insertTasks([
        { agentOwner: "code", title: "rolled back" },
        { agentOwner: "code", title: "refused", dependsOn: ["no-such-task"] },
      ]),
    ).rejects.toBeInstanceOf(LedgerError);
    await ledger.insertTask({ agentOwner: "code", title: "after" });
    const chain = await chainOf(ledger);
    expect(chain).toEqual({ ok: true, seqs: [1, 2], titles: ["kept", "after"] });
    await ledger.close();
  });
});

describe("SqliteChainHead", () => {
  const head = (seq: number) => ({ seq, rowHash: `h${seq}` });

  it("carries a committed head only while data_version stays the same", () => {
    let version = 7;
    let reads = 0;
    const memo = new SqliteChainHead(() => {
      reads++;
      return version;
    });
    memo.began();
    expect(memo.known()).toBeUndefined();
    memo.left(head(1));
    memo.committedNow();

    memo.began();
    expect(memo.known()).toEqual(head(1));
    expect(memo.known()).toEqual(head(1));
    expect(reads).toBe(2); // once per transaction
    memo.committedNow(); // a write with no append leaves the head as it was

    version = 8; // another connection committed
    memo.began();
    expect(memo.known()).toBeUndefined();
  });

  it("drops what a transaction that never committed left", () => {
    const memo = new SqliteChainHead(() => 1);
    memo.began();
    memo.left(head(1));
    memo.committedNow();
    memo.began();
    memo.left(head(2)); // then the transaction rolls back
    memo.began();
    expect(memo.known()).toEqual(head(1));
  });

  it("reads data_version inside the transaction that appends, not after its commit", () => {
    let version = 1;
    const memo = new SqliteChainHead(() => version);
    memo.began();
    memo.left(head(1)); // no known() first: a batch's later append, or a fresh connection
    version = 2; // what a commit landing between COMMIT and a late read would show
    memo.committedNow();
    memo.began();
    expect(memo.known()).toBeUndefined();
  });
});
