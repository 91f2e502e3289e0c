import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { describe, onTestFinished } from "vitest";

/** Debian's Chromium, which the page tests drive. */
export const CHROMIUM = "/usr/bin/chromium";
/** False where Chromium is not installed: the page tests skip, saying why. */
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/**
 * A suite that needs Chromium: skipped, and named as skipped, on a machine without it (CI
 * installs it, so there every browser suite runs).
 */
export function describeInChromium(name: string, body: () => void): void {
  if (HAVE_CHROMIUM) describe(name, body);
  else
    describe.skip(
      `${name} (skipped: ${CHROMIUM} is missing; install Debian's chromium package)`,
      body,
    );
}

/**
 * A fresh headless Chromium page on `url`, closed after the test. Playwright gives each
 * launch its own temporary profile (--user-data-dir), removed when the browser closes.
 * Collects JS dialogs (none may ever open) and console errors (a CSP violation is one).
 * `before` runs on the page before it loads (to route or fail requests).
 */
export async function openPage(
  url: string,
  options: {
    viewport?: { width: number; height: number };
    before?: (page: Page) => Promise<unknown>;
  } = {},
) {
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  onTestFinished(() => browser.close());
  const page: Page = await browser.newPage({
    viewport: options.viewport ?? { width: 1440, height: 900 },
  });
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await options.before?.(page);
  await page.goto(url);
  await page.locator("#status-pill:not([data-status=loading])").waitFor();
  return { page, dialogs, errors };
}

/** The row of the task list whose title is `title`. */
export const taskRow = (page: Page, title: string) =>
  page.locator("#task-list tr", { has: page.locator(".task-title", { hasText: title }) });
