/**
 * The ledger's SQL names its parameters the SQLite way (`?` in order, or `@name`); PostgreSQL
 * numbers them (`$1`). One statement is rewritten once, and its parameters then bound in the
 * order the rewrite found them.
 */
export interface NumberedSql {
  text: string;
  /** For `@name` statements: the name behind each `$n`, in order. Null for `?` statements. */
  names: readonly string[] | null;
}

/**
 * Rewrites `?` and `@name` outside string literals, quoted identifiers and comments. A name
 * used twice gets one number. `$1` written directly is left alone (migrations, raw SQL).
 */
export function numberParameters(sql: string): NumberedSql {
  const names: string[] = [];
  let positional = 0;
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === "'" || c === '"') {
      const end = closingQuote(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === "?") {
      out += `$${++positional}`;
      i++;
    } else if (c === "@" && /[A-Za-z_]/.test(sql[i + 1] ?? "")) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1)) as RegExpExecArray;
      const name = match[0];
      let n = names.indexOf(name);
      if (n === -1) n = names.push(name) - 1;
      out += `$${n + 1}`;
      i += 1 + name.length;
    } else {
      out += c;
      i++;
    }
  }
  if (positional > 0 && names.length > 0) {
    throw new Error(`a statement mixes ? and @name parameters: ${sql}`);
  }
  return { text: out, names: names.length > 0 ? names : null };
}

/** The index just past the literal or identifier that opens at `start` (doubled quotes escape). */
function closingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  for (;;) {
    const next = sql.indexOf(quote, i);
    if (next === -1) return sql.length;
    if (sql[next + 1] === quote) {
      i = next + 2;
      continue;
    }
    return next + 1;
  }
}

/** The values for a numbered statement, from what the caller passed (array or named object). */
export function orderedValues(numbered: NumberedSql, params: unknown): unknown[] {
  if (params === undefined) return [];
  if (numbered.names === null) {
    // A statement with no names may still be handed an (empty) object of them.
    return Array.isArray(params) ? params.map(toWire) : [];
  }
  const named = params as Record<string, unknown>;
  return numbered.names.map((name) => toWire(named[name]));
}

/** undefined binds as NULL, as it does on SQLite; true/false as 1/0 (the columns are integers). */
function toWire(value: unknown): unknown {
  if (value === undefined) return null;
  if (value === true) return 1;
  if (value === false) return 0;
  return value;
}
