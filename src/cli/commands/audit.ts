import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { type CommandEnv, withProjectLedger } from "../context.js";

/** `producer audit verify [--head HASH]`: walks the hash chain and names the first bad row. */
export function registerAudit(program: Command, ctx: () => CommandEnv): void {
  const audit = program.command("audit").description("inspect the hash-chained audit log");
  audit
    .command("verify")
    .description("check that no audit row or audited record was edited, removed or reordered")
    .option(
      "--head <hash>",
      "also prove the chain still contains this head hash (e.g. from a report)",
    )
    .option("--json", "print the result as JSON")
    .action(async (options: { head?: string; json?: boolean }) => {
      // Hex is hex in either case; the chain stores it in lower case.
      const head = options.head?.toLowerCase();
      if (head !== undefined && !/^[0-9a-f]{64}$/.test(head)) {
        throw new UsageError(
          "--head must be a 64-character hex hash, as printed in a morning report",
        );
      }
      const env = ctx();
      const key = env.env.PRODUCER_AUDIT_KEY?.trim() || undefined;
      const result = await withProjectLedger(env, (ledger) =>
        ledger.verifyAuditChain({ expectedHead: head, key }),
      );
      if (options.json) {
        env.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else if (result.ok) {
        env.stdout.write(
          `audit chain ok: ${result.rowsChecked} rows, ${result.entitiesChecked} records checked; head ${result.headHash}\n`,
        );
        if (result.sealedThrough !== null) {
          const after = result.rowCount - result.sealedThrough;
          env.stdout.write(
            `sealed with PRODUCER_AUDIT_KEY through row ${result.sealedThrough}${after > 0 ? ` (${after} newer row${after === 1 ? "" : "s"} not sealed yet)` : ""}\n`,
          );
        }
      } else {
        const p = result.problem!;
        env.stdout.write(`audit chain BROKEN: ${p.reason}\n`);
        if (p.expected) env.stdout.write(`  expected ${p.expected}\n  found    ${p.actual}\n`);
        env.stdout.write(`  ${result.rowsChecked} rows verified before the problem\n`);
      }
      if (!result.ok) env.setExitCode(1);
    });
}
