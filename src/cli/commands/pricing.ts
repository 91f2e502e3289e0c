import type { Command } from "commander";
import { ProducerError, UsageError } from "../../errors.js";
import { recordPriceDigest } from "../../pricing/book.js";
import { formatPriceDiff } from "../../pricing/diff.js";
import { type PriceSource, parsePriceSource, updatePricing } from "../../pricing/update.js";
import {
  type CommandEnv,
  loadProject,
  openProjectLedger,
  refuseInsideDispatch,
} from "../context.js";

interface UpdateFlags {
  source?: string;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `producer pricing update [--source URL|FILE] [--dry-run] [--json]`: fetches a price list,
 * validates it, prints the diff and writes the project-local override.
 */
export function registerPricing(program: Command, ctx: () => CommandEnv): void {
  const pricing = program.command("pricing").description("inspect and update model prices");
  pricing
    .command("update")
    .description("fetch a price list, check it, show the changes and write the project override")
    .option(
      "--source <url-or-file>",
      "LiteLLM price list or producer price table (default: pricing.update_source)",
    )
    .option("--dry-run", "check and show the changes, write nothing")
    .option("--json", "print the result as JSON")
    .action(async (flags: UpdateFlags) => {
      const env = ctx();
      if (!flags.dryRun) {
        refuseInsideDispatch(
          env.env,
          "producer pricing update",
          "prices are set by a human, outside the agents' runs",
        );
      }
      if (flags.source !== undefined && flags.source.trim() === "") {
        throw new UsageError("--source needs a URL or a file path");
      }
      let source: PriceSource | null = null;
      if (flags.source !== undefined) {
        source = parsePriceSource(flags.source, env.cwd);
        if (!source) {
          throw new UsageError(
            `--source must be an http(s) URL or a file path, not ${JSON.stringify(flags.source)}`,
          );
        }
      }
      const config = await loadProject(env);
      if (!source) {
        source = parsePriceSource(config.pricing.updateSource, config.projectRoot);
        if (!source) {
          throw new ProducerError(
            `pricing.update_source in ${config.configPath} must be an http(s) URL or a file path, not ${JSON.stringify(config.pricing.updateSource)}`,
          );
        }
      }
      const result = await updatePricing({
        source,
        overrideFile: config.pricing.overrideFile,
        dryRun: flags.dryRun === true,
        // A running Producer applies only an override whose digest the ledger recorded.
        record: async (digest: string) => {
          const ledger = await openProjectLedger(config, env.env, "cli");
          try {
            await recordPriceDigest(ledger, config.pricing.overrideFile, digest);
          } finally {
            await ledger.close();
          }
        },
      });
      if (flags.json) {
        env.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const format = result.format === "litellm" ? "LiteLLM" : "producer";
      const lines = [
        `price list ${result.source} (${format} format): ${result.models} Claude models`,
      ];
      if (result.skipped.length > 0) {
        lines.push(
          `skipped ${result.skipped.length} without cache prices: ${result.skipped.join(", ")}`,
        );
      }
      if (result.replacedBrokenOverride) {
        lines.push(`replacing a broken override: ${result.replacedBrokenOverride}`);
      }
      if (result.missingModels.length > 0) {
        lines.push(
          result.missingModels.length === 1
            ? `warning: 1 bundled model is not in the list and keeps its bundled prices: ${result.missingModels[0]}`
            : `warning: ${result.missingModels.length} bundled models are not in the list and keep their bundled prices: ${result.missingModels.join(", ")}`,
        );
      }
      lines.push(...formatPriceDiff(result.diff));
      lines.push(
        result.written
          ? `wrote ${result.overrideFile}`
          : `dry run: nothing written (would write ${result.overrideFile})`,
      );
      env.stdout.write(`${lines.join("\n")}\n`);
    });
}
