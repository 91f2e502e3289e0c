import { describe, expect, it } from "vitest";
import { approvalRoles, estimatedCallUsd } from "../src/config/approval.js";
import { configFrom } from "./helpers/config.js";

describe("agents.<role>.requires_approval", () => {
  it("gates always, never, or when the call's estimate (own, producer's, then $0.05 reservation) is above the threshold", () => {
    const config = configFrom(`project_name: p
agents:
  producer:
    daily_cap_usd: 5
    dispatch_reservation_usd: 0.3
  design:
    daily_cap_usd: 5
    requires_approval: true
  code:
    daily_cap_usd: 5
    requires_approval: { above_usd: 0.25 }
  qa:
    daily_cap_usd: 5
    dispatch_reservation_usd: 0.2
    requires_approval: { above_usd: 0.25 }
  ops:
    daily_cap_usd: 5
    requires_approval: false
`);
    expect(config.agents.code?.requiresApproval).toEqual({ aboveUsd: 0.25 });
    // code has no reservation of its own: the producer role's $0.30 is its estimate.
    expect(estimatedCallUsd(config.agents, "code")).toBe(0.3);
    expect(estimatedCallUsd(config.agents, "qa")).toBe(0.2);
    expect(approvalRoles(config.agents)).toEqual(["design", "code"]);
    const bare = configFrom(
      "project_name: p\nagents:\n  x:\n    daily_cap_usd: 1\n    requires_approval: { above_usd: 0.04 }\n",
    );
    expect(estimatedCallUsd(bare.agents, "x")).toBe(0.05);
    expect(approvalRoles(bare.agents)).toEqual(["x"]);
  });
});
