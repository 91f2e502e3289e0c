import { describe, expect, it } from "vitest";
import { Producer, type ProducerEvents } from "../src/index.js";
import { describeEvent } from "../src/producer/console.js";
import { styleFor } from "../src/text/style.js";
import { chargeAt } from "./helpers/ledger.js";
import { fakeNtfy } from "./helpers/ntfy.js";
import { execRole, producerProject } from "./helpers/producer.js";

/** The title of every message published to the fake ntfy, in order. */
const titlesOf = (ntfy: Awaited<ReturnType<typeof fakeNtfy>>) =>
  ntfy.received.map((r) => String(r.headers.title ?? ""));

describe("cap forecast push", () => {
  it("warns once per UTC day for a role about to reach its cap, across two Producer runs, and never for a role that holds", async () => {
    const ntfy = await fakeNtfy();
    const p = await producerProject(
      `notifications:\n  ntfy_topic: forecast-test\n  ntfy_server: ${ntfy.url}\nbudget:\n  forecast_warning_minutes: 60\n`,
      `${execRole("design")}${execRole("code")}${execRole("qa")}`,
    );
    const charge = (role: string, at: string, cost: number) =>
      chargeAt(p.ledger, p.clock, role, at, cost);
    // At 09:00 (caps $5): design spent $4 in the last hour, 4/h: its last $1 goes by 09:15.
    // code: $0.50 in the last hour, 0.50/h: $4.50 left lasts until 18:00, outside the hour.
    // qa: $0.10, 0.10/h: 49 h left, it holds today.
    await charge("design", "2026-05-06T08:20:00Z", 2);
    await charge("design", "2026-05-06T08:50:00Z", 2);
    await charge("code", "2026-05-06T08:30:00Z", 0.5);
    await charge("qa", "2026-05-06T08:30:00Z", 0.1);
    p.clock.set("2026-05-06T09:00:00Z");

    await p.producer.run({ once: true });
    const warned = () =>
      p.ledger.listNotifications().then((all) => all.filter((n) => n.kind === "cap_forecast"));
    expect(p.named("cap_forecast")).toEqual([
      {
        role: "design",
        capUsd: 5,
        hitsAt: "2026-05-06T09:15:00.000Z",
        minutesLeft: 15,
        rateUsdPerHour: 4,
        basis: "last_hour",
      },
    ]);
    // `producer run` prints it as one line.
    expect(
      describeEvent(
        "cap_forecast",
        p.named("cap_forecast")[0] as ProducerEvents["cap_forecast"],
        styleFor(process.stdout, { NO_COLOR: "1" }),
      ),
    ).toBe(
      "$ design reaches its $5.00 cap at 09:15 UTC at $4.00/h (last hour): raise agents.design.daily_cap_usd or slow it down",
    );
    const [first, ...others] = await warned();
    expect(others).toEqual([]);
    expect(first).toMatchObject({
      title: "design reaches its daily cap in about 15 min",
      sequenceId: "cap-forecast-2026-05-06-design",
      delivery: "sent",
    });
    expect(first!.message).toBe(
      "design hits its $5.00 cap at 09:15 UTC at $4.00/h (last hour): $4.00 spent or held of $5.00 so far. Its dispatches stop at 09:15 UTC unless you raise agents.design.daily_cap_usd or slow it down.",
    );
    expect(titlesOf(ntfy)).toEqual(["looptest: design reaches its daily cap in about 15 min"]);

    // A restarted Producer (nothing of the first one's memory) finds today's warning in the
    // ledger and stays quiet, though design is now even closer to its cap.
    p.clock.set("2026-05-06T09:05:00Z");
    const again = new Producer({ config: p.config, ledger: p.ledger, clock: p.clock, env: {} });
    const events: string[] = [];
    again.events.onAny((name) => events.push(name));
    await again.run({ once: true });
    expect(events).toContain("stopped");
    expect(events).not.toContain("cap_forecast");
    expect(await warned()).toHaveLength(1);
    expect(titlesOf(ntfy)).toHaveLength(1);

    // A new UTC day is a new warning.
    await charge("design", "2026-05-07T08:40:00Z", 4.5);
    p.clock.set("2026-05-07T09:00:00Z");
    const tomorrow = new Producer({ config: p.config, ledger: p.ledger, clock: p.clock, env: {} });
    await tomorrow.run({ once: true });
    expect((await warned()).map((n) => n.sequenceId)).toEqual([
      "cap-forecast-2026-05-07-design",
      "cap-forecast-2026-05-06-design",
    ]);
    expect(titlesOf(ntfy)).toHaveLength(2);
  });
});
