// DOM helpers. Every string handed to them becomes a text node or an attribute value, never
// markup: agents write titles, errors and payloads, and none of it may ever run as HTML.

import { ago, detailsText, statusLabel, utc } from "./format.js";

/**
 * Builds an element. `props`: `class`, `dataset`, `style` (an object, set through CSSOM so
 * the CSP needs no inline styles), `on<event>` listeners, or plain attributes.
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...unknown} children strings, numbers, nodes, arrays of them; null/false skipped
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  appendChildren(el, children);
  return el;
}

/** @param {Node} parent @param {unknown[]} children */
function appendChildren(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. @param {Element} el @param {...unknown} children */
export function fill(el, ...children) {
  el.replaceChildren();
  appendChildren(el, children);
}

/** @param {string} id @returns {HTMLElement} */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

/** A status dot and label. @param {string} status */
export function statusBadge(status) {
  return h("span", { class: "status", dataset: { status } }, statusLabel(status));
}

/** @param {string} role */
export function roleBadge(role) {
  return h("span", { class: "role" }, role);
}

/** A value of a CSS custom property of the theme. @param {string} name */
export function themeColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/**
 * A message in the corner that goes away by itself.
 * @param {string} text
 * @param {"ok" | "error"} [tone]
 */
export function toast(text, tone = "ok") {
  const el = h("div", { class: "toast", dataset: { tone } }, text);
  byId("toasts").append(el);
  setTimeout(() => el.remove(), tone === "error" ? 8000 : 4000);
}

/**
 * One audit row as the feeds show it: when, who did what (and to which record), details.
 * @param {{ ts: string, actor: string, action: string, details: string }} row
 * @param {number} now
 * @param {unknown} [entity] what the row is about, already rendered (or null)
 * @param {Record<string, unknown>} [props] extra props for the `li`
 */
export function auditItem(row, now, entity = null, props = {}) {
  return h(
    "li",
    props,
    h("span", { class: "when", title: utc(row.ts) }, ago(row.ts, now)),
    h(
      "span",
      { class: "what" },
      h("span", { class: "actor", dataset: { actor: row.actor } }, row.actor),
      " ",
      h("span", { class: "action" }, row.action),
      entity,
    ),
    h("span", { class: "details" }, detailsText(row.details)),
  );
}
