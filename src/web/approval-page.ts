import type { Context } from "hono";
import type { Clock } from "../clock.js";
import type { Ledger } from "../ledger/ledger.js";
import { checkLink, useLink } from "./approval-links.js";
import { HttpError } from "./http-error.js";

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!,
  );

/** A small self-contained page: the link is opened on a phone, not inside the dashboard. */
function page(title: string, ...body: string[]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><link rel="icon" href="/static/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/static/app.css"></head><body><main class="approval-link"><h1>${escapeHtml(title)}</h1>${body.join("")}</main></body></html>`;
}

async function answer(c: Context, work: () => Promise<string>): Promise<Response> {
  try {
    return c.html(await work());
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return c.html(page("Not approved", `<p>${escapeHtml(error.message)}</p>`), error.status);
  }
}

/** GET: shows what the link approves and a button; nothing changes until it is pressed. */
export function showLink(c: Context, ledger: Ledger, clock: Clock, id: string, token: string) {
  return answer(c, async () => {
    const { task, expiresAt } = await checkLink(ledger, id, token, clock);
    return page(
      "Approve this task?",
      `<p><strong>${escapeHtml(task.title)}</strong></p>`,
      `<p>${escapeHtml(task.agentOwner)} · task ${escapeHtml(task.id)} · filed by ${escapeHtml(task.createdBy)}</p>`,
      task.description ? `<pre>${escapeHtml(task.description.slice(0, 2000))}</pre>` : "",
      `<form method="post"><button type="submit" class="btn">Approve</button></form>`,
      `<p class="muted small">This link works once, until ${escapeHtml(expiresAt)}.</p>`,
    );
  });
}

/** POST: approves, once. */
export function submitLink(c: Context, ledger: Ledger, clock: Clock, id: string, token: string) {
  return answer(c, async () => {
    const task = await useLink(ledger, id, token, clock);
    return page(
      "Approved",
      `<p><strong>${escapeHtml(task.title)}</strong> is pending and will be dispatched.</p>`,
    );
  });
}
