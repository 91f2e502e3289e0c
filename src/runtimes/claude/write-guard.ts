import type {
  HookCallbackMatcher,
  HookEvent,
  HookJSONOutput,
} from "@anthropic-ai/claude-agent-sdk";
import { type ProtectedPaths, protectedPathInCommand, protectedReason } from "./protected-paths.js";

/** Built-in tools that write a file, and the input field that names it. */
const FILE_WRITERS: Record<string, string> = {
  Write: "file_path",
  Edit: "file_path",
  MultiEdit: "file_path",
  NotebookEdit: "notebook_path",
};

/** Tool names the guard inspects (a hook matcher is a regular expression over tool names). */
const GUARDED = [...Object.keys(FILE_WRITERS), "Bash"];

/**
 * Why a call of `tool` with `input` must not run, or null. The verdict depends only on the
 * call, never on the permission mode: it is enforced in a PreToolUse hook, which Claude Code
 * runs before its permission checks in every mode, bypassPermissions included.
 */
export function writeGuardVerdict(
  paths: ProtectedPaths,
  tool: string,
  input: unknown,
  cwd: string,
): string | null {
  const fields =
    typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {};
  const field = FILE_WRITERS[tool];
  if (field) {
    const path = fields[field];
    if (typeof path !== "string" || path.trim() === "") return null; // the tool itself refuses it
    return protectedReason(paths, path, cwd);
  }
  if (tool === "Bash" && typeof fields.command === "string") {
    const named = protectedPathInCommand(paths, fields.command);
    return named ? `the command names ${named}, which agents may not touch` : null;
  }
  return null;
}

/**
 * The SDK `hooks` option that refuses writes to protected paths. A hook that fails blocks
 * the call (`onFailure: "block"`): a broken guard must not open the fence.
 */
export function writeGuardHooks(
  paths: ProtectedPaths,
  onDenied?: (tool: string, reason: string) => void,
): Partial<Record<HookEvent, HookCallbackMatcher[]>> {
  const guard = async (input: { tool_name?: unknown; tool_input?: unknown; cwd?: unknown }) => {
    const tool = typeof input.tool_name === "string" ? input.tool_name : "";
    const cwd = typeof input.cwd === "string" && input.cwd ? input.cwd : paths.projectRoot;
    const reason = writeGuardVerdict(paths, tool, input.tool_input, cwd);
    if (!reason) return {} satisfies HookJSONOutput;
    onDenied?.(tool, reason);
    return {
      hookSpecificOutput: {
        hookEventName: "PreToolUse",
        permissionDecision: "deny",
        permissionDecisionReason: `ai-producer refused this ${tool}: ${reason}`,
      },
    } satisfies HookJSONOutput;
  };
  return {
    PreToolUse: [{ matcher: GUARDED.join("|"), hooks: [guard], onFailure: "block" }],
  };
}
