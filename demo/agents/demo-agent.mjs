#!/usr/bin/env node
// The offline demo's stand-in for a Claude agent. It behaves like a well-prompted specialist:
// reads its task from stdin, writes a file, records a decision, registers the file as an
// asset, files the follow-up work for the next roles, and reports a (synthetic) cost. Some
// tasks are marked flaky and fail on their first attempt, so the demo shows a retry.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadConfig, openLedger } from "../../dist/index.js";

let prompt = "";
for await (const chunk of process.stdin) prompt += chunk;
const payload = JSON.parse(/## Payload\n\n```json\n([\s\S]*?)\n```/.exec(prompt)?.[1] ?? "{}");
const attempt = Number(/· attempt (\d+)/.exec(prompt)?.[1] ?? 1);
const role = process.env.PRODUCER_ROLE;
const taskId = process.env.PRODUCER_TASK_ID;
const feature = payload.feature ?? "feature";
const slug = feature.toLowerCase().replace(/[^a-z0-9]+/g, "-");

// A little thinking time, so the live progress line has something to show.
await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 250)));

if (payload.flaky && attempt === 1) {
  console.error(`simulated flaky failure: the ${role} agent's build of "${feature}" timed out`);
  process.exit(1);
}

const config = await loadConfig(process.env.PRODUCER_CONFIG);
// The project's ledger, wherever producer.yaml keeps it (a SQLite file or PostgreSQL).
const ledger = await openLedger(config, { actor: role, create: false });

const write = (relative, text) => {
  const file = join(config.projectRoot, relative);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return relative;
};
const fileTask = (agentOwner, title, extra = {}, priority = 5) =>
  ledger.insertTask({
    agentOwner,
    title,
    priority,
    description: `Follow-up of ${role}'s work on the ${feature}.`,
    payload: { feature, ...extra },
    parentTaskId: taskId,
    createdBy: role,
  });

let summary;
const plans = {
  design: async () => {
    const path = write(
      `design/${slug}.md`,
      `# ${feature}\n\nLayout, states and copy for the ${feature}.\n`,
    );
    await ledger.registerAsset({ taskId, agentOwner: role, path, kind: "spec" });
    await ledger.recordDecision({
      taskId,
      agentOwner: role,
      kind: "design",
      decisionText: `One-column layout for the ${feature}`,
      rationale: "Reads well on a phone; one breakpoint fewer to test.",
    });
    await fileTask("code", `Implement the ${feature}`, { flaky: Boolean(payload.flaky_build) });
    await fileTask("art", `Draw the icons for the ${feature}`, {}, 6);
    summary = `specified the ${feature}; filed code and art work`;
  },
  code: async () => {
    const path = write(
      `src/${slug}.ts`,
      `// ${feature}\nexport const ${slug.replace(/-(.)/g, (_, c) => c.toUpperCase())} = true;\n`,
    );
    await ledger.registerAsset({ taskId, agentOwner: role, path, kind: "code" });
    await ledger.recordDecision({
      taskId,
      agentOwner: role,
      kind: "implementation",
      decisionText: `Built the ${feature} as one module`,
      rationale: "Small enough to keep together.",
    });
    await fileTask("qa", `Test the ${feature}`);
    summary = `implemented the ${feature}; filed its QA`;
  },
  art: async () => {
    const path = write(
      `art/${slug}.svg`,
      `<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24"><circle cx="12" cy="12" r="10"/></svg>\n`,
    );
    await ledger.registerAsset({ taskId, agentOwner: role, path, kind: "image" });
    summary = `drew the icons for the ${feature}`;
  },
  qa: async () => {
    const path = write(`tests/${slug}.md`, `# QA: ${feature}\n\nAll checks pass.\n`);
    await ledger.registerAsset({ taskId, agentOwner: role, path, kind: "test" });
    await ledger.recordDecision({
      taskId,
      agentOwner: role,
      kind: "qa",
      decisionText: `The ${feature} passes`,
    });
    summary = `tested the ${feature}`;
  },
};
try {
  await (plans[role] ?? plans.qa)();
} finally {
  await ledger.close();
}

// Synthetic but plausible usage, priced like a small claude-sonnet-5-5 call.
const input = 2000 + Math.floor(Math.random() * 3000);
const output = 300 + Math.floor(Math.random() * 700);
console.log(
  JSON.stringify({
    model: "claude-sonnet-5-5",
    usage: {
      input_tokens: input,
      output_tokens: output,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 1500,
    },
    summary,
  }),
);
