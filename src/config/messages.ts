/**
 * Human wording for every kind of problem zod can find in producer.yaml. zod's own messages
 * ("Invalid input: expected number, received string") are written for developers; the people
 * reading these are editing a YAML file and need the key, the rule and what they wrote.
 */
import type { z } from "zod";
import { suggest } from "../text/suggest.js";

/** How a value the user wrote is quoted back to them, kept short. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") {
    const text = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return JSON.stringify(text);
  }
  return String(value);
}

/** Names of zod's expected types, as a YAML author would put them. */
const EXPECTED: Readonly<Record<string, string>> = {
  number: "a number",
  int: "a whole number",
  string: "a string",
  boolean: "true or false",
  array: "a list",
  object: "a mapping (key: value lines)",
  record: "a mapping (key: value lines)",
};

/** Joins enum values for a message: `a, b or c`. */
function oneOf(values: readonly unknown[]): string {
  const shown = values.map(String);
  if (shown.length < 2) return shown.join("");
  return `${shown.slice(0, -1).join(", ")} or ${shown.at(-1)}`;
}

/**
 * The per-parse zod error map. Schema-level messages (`{ error: "..." }` on a field) take
 * precedence over it, so this only words the generic cases: missing keys, wrong types and
 * values outside an enum. Unknown keys are reworded key by key later, with suggestions.
 */
export const humanErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "is required";
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      const quoteHint =
        issue.expected === "string" &&
        (typeof issue.input === "number" || typeof issue.input === "boolean")
          ? ` (put it in quotes: "${String(issue.input)}")`
          : "";
      return `must be ${expected}, got ${show(issue.input)}${quoteHint}`;
    }
    case "invalid_value": {
      const hint =
        typeof issue.input === "string"
          ? suggest(issue.input, issue.values.map(String))
          : undefined;
      const didYouMean = hint ? ` (did you mean "${hint}"?)` : "";
      return `must be one of ${oneOf(issue.values)}, got ${show(issue.input)}${didYouMean}`;
    }
    case "too_small":
      return `must be ${issue.inclusive ? "at least" : "more than"} ${String(issue.minimum)}`;
    case "too_big":
      return `must be ${issue.inclusive ? "at most" : "less than"} ${String(issue.maximum)}`;
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
    default:
      return undefined;
  }
};

/**
 * Renders a key path the way the user would look it up: `agents.code.daily_cap_usd`, list
 * items as `allowed_tools[2]` (0-based, as in JSON paths), other odd keys quoted.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "string" && /^[A-Za-z_][\w-]*$/.test(segment)) {
      out += out ? `.${segment}` : segment;
    } else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}
