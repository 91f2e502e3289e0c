import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { ProducerError } from "../errors.js";
import { codePath } from "../package-files.js";

/** One file the dashboard serves, held in memory (they are small and never change). */
export interface StaticAsset {
  body: string;
  contentType: string;
}

/** Stands in the page for the per-launch token; replaced on every page request. */
export const TOKEN_PLACEHOLDER = "__PRODUCER_TOKEN__";

const CSS = "text/css; charset=utf-8";
const JS = "text/javascript; charset=utf-8";

/** The page's own files under ./static/, by URL path. */
const PAGE_FILES: Record<string, string> = {
  "/static/app.css": CSS,
  "/static/panels.css": CSS,
  "/static/sheets.css": CSS,
  "/static/app.js": JS,
  "/static/api.js": JS,
  "/static/charts.js": JS,
  "/static/dom.js": JS,
  "/static/format.js": JS,
  "/static/forms.js": JS,
  "/static/layout.js": JS,
  "/static/live.js": JS,
  "/static/markdown.js": JS,
  "/static/producers.js": JS,
  "/static/render.js": JS,
  "/static/task-detail.js": JS,
  "/static/favicon.svg": "image/svg+xml",
};

// uPlot is served from the installed package, so the page works offline and with a strict CSP.
const VENDOR_FILES: Record<string, [string, string]> = {
  "/vendor/uPlot.iife.min.js": ["uplot/dist/uPlot.iife.min.js", JS],
  "/vendor/uPlot.min.css": ["uplot/dist/uPlot.min.css", CSS],
};

/** The page template and every file it loads, keyed by URL path. */
export interface DashboardAssets {
  page: string;
  files: ReadonlyMap<string, StaticAsset>;
}

/**
 * Reads the page and its assets once at start, so a broken install fails at launch with one
 * clear message instead of serving a half-working page.
 */
export function loadAssets(): DashboardAssets {
  const files = new Map<string, StaticAsset>();
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new ProducerError(
        `the dashboard's files are missing (${path}): reinstall ai-producer, or rebuild with npm run build`,
        { cause: error },
      );
    }
  };
  const local = (name: string) => codePath("web", "static", name);
  for (const [url, contentType] of Object.entries(PAGE_FILES)) {
    files.set(url, { body: read(local(url.slice("/static/".length))), contentType });
  }
  const require = createRequire(import.meta.url);
  for (const [url, [specifier, contentType]] of Object.entries(VENDOR_FILES)) {
    let path: string;
    try {
      path = require.resolve(specifier);
    } catch (error) {
      throw new ProducerError(`uPlot is not installed (${specifier}): reinstall ai-producer`, {
        cause: error,
      });
    }
    files.set(url, { body: read(path), contentType });
  }
  return { page: read(local("index.html")), files };
}
