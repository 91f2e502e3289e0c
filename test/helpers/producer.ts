import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import {
  LedgerClient,
  ManualClock,
  Producer,
  type ProducerConfig,
  type ProducerEventName,
} from "../../src/index.js";
import { tempProject } from "./cli.js";
import { configFrom } from "./config.js";
import { tempDir } from "./temp.js";

export const PRODUCER_AGENT = join(import.meta.dirname, "..", "fixtures", "producer-agent.mjs");

/** YAML for a role run by the test exec agent. */
export function execRole(name: string, extra = ""): string {
  return `  ${name}:\n    daily_cap_usd: 5\n    dispatch_reservation_usd: 0.05\n    runtime: exec\n    command: ${JSON.stringify([process.execPath, PRODUCER_AGENT])}\n    env: [AGENT_LOG]\n${extra}`;
}

/**
 * A project on disk whose `code` role runs the test exec agent, with its ledger open, for
 * tests that run the CLI as a child process; `extra` is YAML above `agents:`.
 */
export async function execCliProject(extra = "") {
  const dir = tempProject(`poll_interval_seconds: 0.2\nlease_seconds: 6\n${extra}`, []);
  writeFileSync(
    join(dir, "producer.yaml"),
    `${readFileSync(join(dir, "producer.yaml"), "utf8")}${execRole("code")}`,
  );
  mkdirSync(join(dir, "agents", "code"), { recursive: true });
  writeFileSync(join(dir, "agents", "code", "system_prompt.md"), "You are code.\n");
  const ledger = await LedgerClient.open({
    dbPath: join(dir, "agent-state", "ledger.db"),
    roles: ["code"],
  });
  // Closing twice is harmless: tests that close it early to let the CLI have it alone may.
  onTestFinished(() => ledger.close());
  const agentLog = join(dir, "agent.log");
  const starts = () =>
    readFileSync(agentLog, { encoding: "utf8", flag: "a+" })
      .split("\n")
      .filter((l) => l.includes('"event":"start"')).length;
  return { dir, ledger, agentLog, starts, env: { AGENT_LOG: agentLog } };
}

/**
 * A project whose roles run the test exec agent, a ledger, a manual clock and a Producer
 * that records every event. `top` is YAML above `agents:`.
 */
export async function producerProject(top: string, roles: string) {
  const dir = tempDir("producer-loop-");
  // A fast loop unless `top` sets its own poll interval.
  const poll = /^poll_interval_seconds:/m.test(top) ? "" : "poll_interval_seconds: 0.05\n";
  const yaml = `project_name: looptest\n${poll}${top}agents:\n${roles}`;
  writeFileSync(join(dir, "producer.yaml"), yaml);
  const config: ProducerConfig = configFrom(yaml, dir);
  for (const role of Object.values(config.agents)) {
    mkdirSync(join(role.prompt, ".."), { recursive: true });
    writeFileSync(role.prompt, `You are ${role.name}.\n`);
  }
  const clock = new ManualClock(Date.parse("2026-05-06T09:00:00Z"));
  const ledger = await LedgerClient.open({
    dbPath: config.ledgerDb,
    roles: Object.keys(config.agents),
    guardrails: config.guardrails,
    clock,
    actor: "test",
  });
  onTestFinished(() => ledger.close());
  const agentLog = join(dir, "agent.log");
  const events: { name: ProducerEventName; event: Record<string, unknown> }[] = [];
  const producer = new Producer({
    config,
    ledger,
    clock,
    env: { PATH: process.env.PATH, AGENT_LOG: agentLog },
  });
  producer.events.onAny((name, event) =>
    events.push({ name, event: event as Record<string, unknown> }),
  );
  onTestFinished(() => producer.stop());
  const named = (name: ProducerEventName) =>
    events.filter((e) => e.name === name).map((e) => e.event);
  const agentLines = () =>
    existsSync(agentLog)
      ? readFileSync(agentLog, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { task: string; event: string; t: number; role: string })
      : [];
  /** Waits (real time) until `check` holds, polling every 20 ms. */
  const until = async (check: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { dir, config, ledger, clock, producer, events, named, agentLines, until };
}
