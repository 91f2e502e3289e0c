/**
 * Reads producer.yaml's text into plain data, turning YAML syntax errors into config problems
 * that carry a line and column, and remembering where each key sits so problems can be
 * listed in file order.
 */
import { isNode, LineCounter, parseDocument } from "yaml";
import type { ConfigProblem } from "../errors.js";

/** The parsed file, or the problems that stopped it from parsing. */
export type ParsedYaml =
  | { ok: true; data: unknown; offsetOf: (path: readonly PropertyKey[]) => number }
  | { ok: false; problems: ConfigProblem[] };

/** Rewordings of yaml's messages that name its own API rather than the user's mistake. */
const REWORDED: Readonly<Record<string, string>> = {
  MULTIPLE_DOCS: "the file must hold a single YAML document (remove the `---` separator)",
};

/**
 * Parses YAML text. `offsetOf` gives the character offset of the node at a key path, or of
 * its nearest existing parent for keys that are missing; Infinity when nothing matches.
 */
export function parseYaml(text: string): ParsedYaml {
  const lines = new LineCounter();
  // merge: true lets roles share settings through `<<: *defaults`.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        const message = REWORDED[error.code] ?? error.message;
        return { path: "", message: `invalid YAML at line ${line}, column ${col}: ${message}` };
      }),
    };
  }

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // Unresolved aliases and alias bombs surface only when values are built.
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, problems: [{ path: "", message: `invalid YAML: ${reason}` }] };
  }

  const offsetOf = (path: readonly PropertyKey[]): number => {
    for (let length = path.length; length >= 0; length--) {
      const node = doc.getIn(path.slice(0, length), true);
      if (isNode(node) && node.range) return node.range[0];
    }
    return Number.POSITIVE_INFINITY;
  };
  return { ok: true, data, offsetOf };
}
