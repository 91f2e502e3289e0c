import { describe, expect, it } from "vitest";
import { styleFor } from "../src/text/style.js";

const tty = { isTTY: true } as unknown as NodeJS.WritableStream;

describe("colour", () => {
  it("is on for a terminal unless NO_COLOR holds a value or TERM is dumb", () => {
    expect(styleFor(tty, {}).enabled).toBe(true);
    // no-color.org: an empty NO_COLOR does not count.
    expect(styleFor(tty, { NO_COLOR: "" }).enabled).toBe(true);
    expect(styleFor(tty, { NO_COLOR: "1" }).enabled).toBe(false);
    expect(styleFor(tty, { TERM: "dumb" }).enabled).toBe(false);
    expect(styleFor({} as NodeJS.WritableStream, {}).enabled).toBe(false);
    expect(styleFor(tty, {}).red("x")).toBe("\u001b[31mx\u001b[39m");
  });
});
