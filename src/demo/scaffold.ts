import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ProducerError } from "../errors.js";
import { openLedgerFile } from "../ledger/open.js";
import { packagePath } from "../package-files.js";

/** Marks a folder as made by `producer demo`, so a second run may start it over. */
const MARKER = ".producer-demo";

/** The demo agent shipped with the package. */
export const DEMO_AGENT = packagePath("demo", "agents", "demo-agent.mjs");

const ROLES = {
  design: {
    cap: 2,
    mission: "turns a feature idea into a short spec, then files the code and art work",
  },
  code: { cap: 3, mission: "implements a specified feature, then files its QA" },
  art: { cap: 1, mission: "draws the icons a feature needs" },
  qa: { cap: 1, mission: "tests a feature and records whether it passes" },
} as const;

const FEATURES = ["login screen", "settings page", "onboarding tour"];

/** The demo's producer.yaml: exec agents today, `runtime: claude` away from real ones. */
function demoYaml(ledgerUrl?: string): string {
  const command = JSON.stringify([process.execPath, DEMO_AGENT]);
  const roles = Object.entries(ROLES)
    .map(
      ([name, r]) => `  ${name}:
    daily_cap_usd: ${r.cap}
    dispatch_reservation_usd: 0.05
    # Delete the next two lines to run this role with real Claude agents.
    runtime: exec
    command: ${command}
`,
    )
    .join("");
  return `# The offline demo of ai-producer. Every role runs a small scripted agent that behaves
# like a well-prompted Claude agent: it writes a file, records a decision, registers the file,
# files follow-up work for the next role, and reports what the call cost.
project_name: producer-demo
${ledgerUrl ? `ledger_url: ${JSON.stringify(ledgerUrl)}\n` : ""}poll_interval_seconds: 0.2
idle_threshold_polls: 100
max_concurrent_dispatches: 2
retry:
  max_retries: 3
  backoff_seconds: 1
budget:
  project_ceiling_usd: 10
agents:
${roles}`;
}

/**
 * Lays out the demo project in `dir` and seeds one design task per feature. A folder from an
 * earlier demo is started over; any other non-empty folder is refused.
 */
export async function scaffoldDemo(
  dir: string,
  ledgerUrl?: string,
): Promise<{ dir: string; seeded: number }> {
  const root = resolve(dir);
  if (existsSync(root)) {
    const entries = readdirSync(root);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new ProducerError(
        `${root} is not empty and was not made by producer demo: pass --dir with a new folder`,
      );
    }
    for (const entry of entries) rmSync(join(root, entry), { recursive: true, force: true });
  }
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, MARKER), "made by producer demo; safe to delete\n");
  writeFileSync(join(root, "producer.yaml"), demoYaml(ledgerUrl));
  for (const [name, r] of Object.entries(ROLES)) {
    mkdirSync(join(root, "agents", name), { recursive: true });
    writeFileSync(
      join(root, "agents", name, "system_prompt.md"),
      `# ${name}\n\nYou are the ${name} agent: you ${r.mission}. Record your decisions, register the files you make, and file the next role's work before you stop.\n`,
    );
  }
  const ledger = await openLedgerFile({
    ...(ledgerUrl ? { ledgerUrl } : { dbPath: join(root, "agent-state", "ledger.db") }),
    roles: Object.keys(ROLES),
    actor: "demo",
  });
  try {
    // A shared database is never started over by the demo: it must bring its own schema.
    if (ledgerUrl && (await ledger.countTasks({})) > 0) {
      throw new ProducerError(
        `the schema of ${ledger.location} already holds tasks: give the demo a new one (?schema=demo_2 in --ledger-url)`,
      );
    }
    await ledger.insertTasks(
      FEATURES.map((feature, i) => ({
        agentOwner: "design",
        title: `Design the ${feature}`,
        description: `Specify the ${feature}: layout, states and copy.`,
        // The first feature's build fails once, to show a retry with backoff.
        payload: { feature, flaky_build: i === 0 },
        priority: 3,
      })),
    );
  } finally {
    await ledger.close();
  }
  return { dir: root, seeded: FEATURES.length };
}
