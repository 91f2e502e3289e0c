// How often the Producer passes a running call's progress on: at most once every
// PROGRESS_EVERY_MS per call, measured on its own clock. A scripted runtime stands in for the
// model; the real Claude runtime's progress is tested in runtime-claude-progress.test.ts.
import { describe, expect, it } from "vitest";
import {
  type CallProgress,
  type DispatchRequest,
  type InvocationResult,
  Producer,
  type ProducerEvents,
  type Runtime,
} from "../src/index.js";
import { describeEvent } from "../src/producer/console.js";
import { PROGRESS_EVERY_MS } from "../src/producer/events.js";
import { emptyResult } from "../src/runtimes/types.js";
import { styleFor } from "../src/text/style.js";
import { producerProject } from "./helpers/producer.js";

/** A runtime that reports progress at the given clock offsets (ms), then succeeds. */
function scriptedRuntime(advance: (ms: number) => void, offsets: number[]): Runtime {
  return {
    kind: "claude",
    async invoke(request: DispatchRequest): Promise<InvocationResult> {
      let at = 0;
      offsets.forEach((offset, i) => {
        advance(offset - at);
        at = offset;
        const progress: CallProgress = {
          turns: i + 1,
          tokens: 1000 * (i + 1),
          costUsd: 0.01 * (i + 1),
          apiRetry: null,
        };
        request.onProgress?.(progress);
      });
      return { ...emptyResult(0, at), ok: true, resultText: "done", toolCalls: 1 };
    },
  };
}

describe("progress of a running call", () => {
  it("is passed on at most once every PROGRESS_EVERY_MS, and printed as one line", async () => {
    const p = await producerProject("", "  code:\n    daily_cap_usd: 5\n");
    const task = await p.ledger.insertTask({ agentOwner: "code", title: "Long job" });
    const step = PROGRESS_EVERY_MS / 5;
    // Reports every `step`: only those a whole PROGRESS_EVERY_MS after the last one shown
    // (or the call's start) get through.
    const offsets = Array.from({ length: 12 }, (_, i) => (i + 1) * step);
    const producer = new Producer({
      config: p.config,
      ledger: p.ledger,
      clock: p.clock,
      env: { PATH: process.env.PATH },
      runtimes: { claude: scriptedRuntime((ms) => p.clock.advance(ms), offsets) },
    });
    const seen: ProducerEvents["progress"][] = [];
    producer.events.on("progress", (e) => seen.push(e));
    await producer.run({ once: true });
    expect(seen.map((e) => [e.elapsedMs, e.turns])).toEqual([
      [5 * step, 5],
      [10 * step, 10],
    ]);
    expect(seen[0]).toMatchObject({ taskId: task.id, role: "code", tokens: 5000, apiRetry: null });
    const plain = styleFor(process.stdout, { NO_COLOR: "1" });
    expect(describeEvent("progress", seen[0]!, plain)).toBe(
      `… code ${task.id.slice(-8)} working: 5 turns, 5,000 tokens, $0.0500 so far, 5.0 s`,
    );
    expect(
      describeEvent(
        "progress",
        {
          ...seen[0]!,
          turns: 1,
          apiRetry: { attempt: 3, maxRetries: 10, status: null, forMs: 4200 },
        },
        plain,
      ),
    ).toBe(
      `… code ${task.id.slice(-8)} retrying the API (no connection; attempt 3 of 10, for 4.2 s): 1 turn, 5,000 tokens, $0.0500 so far, 5.0 s`,
    );
  });
});
