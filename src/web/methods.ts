import type { Context, Hono, MiddlewareHandler } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import type { BlankEnv } from "hono/types";

/** A route's handler; `P` types its `c.req.param()` as Hono's own routes do. */
type Handler<P extends string> = (c: Context<BlankEnv, P>) => Response | Promise<Response>;

/**
 * The dashboard's routes by method and path, kept apart from Hono's own table so a request
 * can be asked "does this path exist under another method?": Hono alone answers 404 for
 * DELETE /api/state, where HTTP says 405 and names the methods that would work.
 */
export class RouteTable {
  // Hono's own matcher, so a path counts as known exactly when a route would take it.
  private readonly paths = new TrieRouter<string>();
  private readonly methods = new Set<string>();

  constructor(private readonly app: Hono) {}

  get<P extends string>(path: P, handler: Handler<P>): void {
    this.add("GET", path, handler);
  }

  post<P extends string>(path: P, handler: Handler<P>): void {
    this.add("POST", path, handler);
  }

  /** The methods `path` answers to (HEAD wherever GET), or none for a path nobody serves. */
  allowed(path: string): string[] {
    const allowed = [...this.methods].filter((m) => this.paths.match(m, path)[0].length > 0);
    // Hono answers HEAD with the GET route, so it is allowed wherever GET is.
    if (allowed.includes("GET")) allowed.splice(allowed.indexOf("GET") + 1, 0, "HEAD");
    return allowed;
  }

  private add<P extends string>(method: string, path: P, handler: Handler<P>): void {
    this.methods.add(method);
    this.paths.add(method, path, method);
    this.app.on(method, path, handler as (c: Context) => Response | Promise<Response>);
  }
}

/**
 * Answers 405 with an `Allow` header when the path exists but not for this method; other
 * requests go on (an unknown path ends as 404). It runs before the token check: refusing a
 * method nobody serves changes nothing, and the routes are no secret (the page's script
 * names them), so a missing token need not hide the better answer.
 */
export function methodGuard(table: RouteTable): MiddlewareHandler {
  return async (c, next) => {
    const allowed = table.allowed(c.req.path);
    const method = c.req.method === "HEAD" ? "GET" : c.req.method;
    if (allowed.length === 0 || allowed.includes(method)) return next();
    return c.json(
      {
        error: `${c.req.method} is not allowed on ${c.req.path.slice(0, 100)} (use ${allowed.join(", ")})`,
      },
      405,
      { Allow: allowed.join(", ") },
    );
  };
}
