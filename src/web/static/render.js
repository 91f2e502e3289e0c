// Draws the main page from one /api/state answer. Called on every refresh (each ledger change,
// or every two seconds when polling): each part is rebuilt from scratch, from text nodes only.

import { seriesColor } from "./charts.js";
import { auditItem, byId, fill, h, roleBadge, statusBadge } from "./dom.js";
import { ago, count, shortId, statusLabel, usd, utc } from "./format.js";
import { renderProducers } from "./producers.js";

/**
 * @typedef {object} PageHooks
 * @property {{ status: string, role: string, q: string, offset: number }} view
 * @property {(id: string) => void} openTask
 * @property {(change: object) => void} setFilter
 * @property {(id: string, change: "approve" | "deny", reason: string) => void} decide
 */

/** @param {any} s the state @param {PageHooks} hooks */
export function renderPage(s, hooks) {
  const now = Date.parse(s.project.now);
  renderHeader(s, now);
  renderBanners(s, now);
  renderApprovals(s, now, hooks);
  renderTiles(s);
  renderQueue(s, hooks);
  renderTasks(s, now, hooks);
  renderBudget(s);
  renderForecast(s);
  renderAudit(s, now, hooks);
  renderNtfy(s, now);
  renderProducers(s, now);
}

function renderHeader(s, now) {
  byId("project-name").textContent = s.project.name;
  const pill = byId("status-pill");
  pill.dataset.status = s.status;
  pill.textContent = s.status;
  const q = s.queue;
  const doing =
    s.status === "halted"
      ? "kill switch armed"
      : q.running > 0
        ? `${count(q.running)} running · ${count(q.ready)} ready`
        : q.ready > 0
          ? `${count(q.ready)} ready, nothing running: is producer run up?`
          : "nothing queued";
  byId("project-meta").textContent =
    `${doing} · last activity ${ago(s.lastActivityAt, now)} · ${s.project.day} UTC`;
  document.title = `${s.status} · ${s.project.name} · Producer`;
  byId("btn-arm").hidden = s.killSwitch !== null;
  byId("btn-disarm").hidden = s.killSwitch === null;
}

function renderBanners(s, now) {
  const kill = s.killSwitch;
  byId("kill-banner").hidden = kill === null;
  if (kill) {
    byId("kill-reason").textContent = kill.reason;
    const when = kill.at ? ` ${ago(kill.at, now)} (${utc(kill.at)})` : "";
    const mode = kill.mode === "now" ? "calls in flight aborted" : "calls in flight may finish";
    byId("kill-meta").textContent = `armed by ${kill.by}${when} · ${mode}`;
  }
  const attention = s.attention;
  byId("attention-banner").hidden = attention === null;
  if (attention) {
    // Each item carries its id: "mark as read" resolves exactly the items drawn here.
    fill(
      byId("attention-list"),
      attention.items.map((item) =>
        h(
          "li",
          { dataset: { attentionId: item.id } },
          h(
            "div",
            {},
            h(
              "span",
              { class: "muted small", title: utc(item.createdAt) },
              `${ago(item.createdAt, now)} · `,
            ),
            h("strong", {}, item.title),
            h("code", { class: "muted small attention-id", title: "attention id" }, ` ${item.id}`),
          ),
          item.message ? h("p", {}, item.message) : null,
        ),
      ),
    );
    const older = attention.open - attention.items.length;
    byId("attention-more").textContent =
      `${older > 0 ? `${count(older)} older open item(s): producer attention lists them · ` : ""}also in ${attention.path}`;
  }
}

let approvalsDrawn = "";

/**
 * The tasks awaiting a human's sign-off, each with its Approve and Deny. Redrawn only when the
 * list changed: every ledger change refreshes the page, and a reason being typed must survive.
 */
function renderApprovals(s, now, hooks) {
  const awaiting = s.queue.byStatus.awaiting_approval ?? 0;
  byId("approval-banner").hidden = s.approvals.length === 0;
  const more = awaiting - s.approvals.length;
  byId("approval-more").textContent =
    more > 0 ? `${count(more)} more: producer task list --status awaiting_approval` : "";
  const drawn = JSON.stringify(s.approvals);
  if (drawn === approvalsDrawn) return;
  approvalsDrawn = drawn;
  fill(
    byId("approval-list"),
    s.approvals.map((t) => {
      const reason = h("input", {
        name: "reason",
        placeholder: "why deny it?",
        maxlength: "2000",
        "aria-label": `deny reason for ${t.title}`,
      });
      return h(
        "li",
        { dataset: { taskId: t.id } },
        h(
          "div",
          {},
          roleBadge(t.role),
          " ",
          h(
            "button",
            { type: "button", class: "link", onclick: () => hooks.openTask(t.id) },
            t.title,
          ),
          h(
            "span",
            { class: "muted small" },
            ` · filed by ${t.createdBy} ${ago(t.createdAt, now)}`,
          ),
        ),
        h(
          "div",
          { class: "inline-form" },
          h(
            "button",
            { type: "button", class: "btn", onclick: () => hooks.decide(t.id, "approve", "") },
            "Approve",
          ),
          reason,
          h(
            "button",
            {
              type: "button",
              class: "btn danger",
              onclick: () => hooks.decide(t.id, "deny", reason.value.trim()),
            },
            "Deny",
          ),
        ),
      );
    }),
  );
}

function tile(label, value, sub, tone) {
  return h(
    "div",
    { class: "tile", dataset: { tone } },
    h("span", { class: "label" }, label),
    h("span", { class: "value" }, value),
    h("span", { class: "sub" }, sub),
  );
}

function renderTiles(s) {
  const q = s.queue;
  const b = s.budget.project;
  const waiting = q.waitingOnDependencies + q.delayed;
  const spendTone =
    b.spentUsd >= b.ceilingUsd ? "danger" : b.spentUsd >= b.ceilingUsd * 0.8 ? "warn" : "";
  fill(
    byId("tiles"),
    tile("running", count(q.running), "in progress now", q.running ? "accent" : ""),
    tile("ready", count(q.ready), "claimable now", ""),
    tile(
      "waiting",
      count(waiting),
      `${count(q.waitingOnDependencies)} on deps · ${count(q.delayed)} backoff`,
      "",
    ),
    tile("needs you", count(q.byStatus.escalated), "escalated", q.byStatus.escalated ? "warn" : ""),
    tile(
      "approval",
      count(q.byStatus.awaiting_approval),
      "awaiting sign-off",
      q.byStatus.awaiting_approval ? "warn" : "",
    ),
    tile("failed", count(q.byStatus.failed), "hard failures", q.byStatus.failed ? "danger" : ""),
    tile("done", count(q.byStatus.done), `of ${count(q.total)} tasks`, "ok"),
    tile(
      "spent today",
      usd(b.spentUsd),
      `of ${usd(b.ceilingUsd)} ceiling${b.reservedUsd ? ` · ${usd(b.reservedUsd)} held` : ""}`,
      spendTone,
    ),
  );
}

/** A role's name with its chart colour. @param {string} role @param {number} index */
function roleKey(role, index) {
  return h(
    "span",
    { class: "role-key" },
    h("span", { class: "dot", style: { background: seriesColor(index) } }),
    role,
  );
}

function renderQueue(s, hooks) {
  const cell = (role, status, n) =>
    h(
      "button",
      {
        type: "button",
        class: n ? "cell-link" : "cell-link zero",
        dataset: { status },
        title: `show ${status ? statusLabel(status) : "all"} tasks${role ? ` of ${role}` : ""}`,
        onclick: () => hooks.setFilter({ role, status }),
      },
      count(n),
    );
  byId("queue-total").textContent = `${count(s.queue.total)} tasks`;
  // The server lists every status, in the ledger's order: the page keeps no copy of its own.
  const statuses = Object.keys(s.queue.byStatus);
  fill(
    byId("queue-matrix"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", {}, "role"),
        statuses.map((st) => h("th", {}, statusBadge(st))),
        h("th", {}, "total"),
      ),
    ),
    h(
      "tbody",
      {},
      s.queue.byRole.map((r, i) =>
        h(
          "tr",
          {},
          h("td", {}, roleKey(r.role, i)),
          statuses.map((st) => h("td", {}, cell(r.role, st, r.counts[st] ?? 0))),
          h("td", {}, cell(r.role, "", r.total)),
        ),
      ),
    ),
    h(
      "tfoot",
      {},
      h(
        "tr",
        {},
        h("td", {}, "all roles"),
        statuses.map((st) => h("td", {}, cell("", st, s.queue.byStatus[st]))),
        h("td", {}, cell("", "", s.queue.total)),
      ),
    ),
  );
}

function renderTasks(s, now, hooks) {
  const t = s.tasks;
  fill(
    byId("task-list"),
    t.items.map((task) =>
      h(
        "tr",
        {
          dataset: { taskId: task.id },
          tabindex: "0",
          onclick: () => hooks.openTask(task.id),
          onkeydown: (event) => {
            if (event.key === "Enter") hooks.openTask(task.id);
          },
        },
        h("td", { class: "status-col", title: statusLabel(task.status) }, statusBadge(task.status)),
        h(
          "td",
          {},
          h("div", { class: "task-title" }, task.title),
          h(
            "div",
            { class: "task-sub", title: task.id },
            `${shortId(task.id)} · by ${task.createdBy}`,
            // Narrow windows show only the status dot; the word moves here.
            h("span", { class: "inline-status" }, ` · ${statusLabel(task.status)}`),
          ),
          task.lastError && ["failed", "escalated", "pending"].includes(task.status)
            ? h("div", { class: "task-error", title: task.lastError }, task.lastError)
            : null,
        ),
        h("td", {}, roleBadge(task.role)),
        h("td", { class: "num opt" }, String(task.priority)),
        h("td", { class: "num opt" }, String(task.attempts)),
        h("td", { class: "num" }, usd(task.costUsd)),
        h(
          "td",
          { class: "num opt muted small", title: utc(task.updatedAt) },
          ago(task.updatedAt, now),
        ),
      ),
    ),
  );
  const view = hooks.view;
  const empty = byId("tasks-empty");
  empty.hidden = t.items.length > 0;
  const first = t.total === 0 ? 0 : t.offset + 1;
  const last = t.offset + t.items.length;
  byId("page-info").textContent = `${count(first)}–${count(last)} of ${count(t.total)}`;
  const filters = [
    view.status && statusLabel(view.status),
    view.role,
    view.q && `“${view.q}”`,
  ].filter(Boolean);
  byId("tasks-range").textContent = filters.length
    ? `filtered: ${filters.join(" · ")}`
    : "newest first";
  /** @type {HTMLButtonElement} */ (byId("page-prev")).disabled = t.offset === 0;
  /** @type {HTMLButtonElement} */ (byId("page-next")).disabled = last >= t.total;
  byId("filter-clear").hidden = filters.length === 0;
  empty.textContent = filters.length
    ? "No tasks match these filters."
    : "No tasks yet: file one, or seed the queue with producer task import.";
}

function renderBudget(s) {
  const b = s.budget;
  byId("budget-day").textContent = `${b.day} UTC`;
  const p = b.project;
  const over = p.spentUsd >= p.ceilingUsd;
  fill(
    byId("budget-project"),
    h(
      "div",
      { class: "budget-line" },
      h(
        "span",
        { class: "name" },
        "whole project",
        over ? h("span", { class: "marker cap-hit" }, "[CAP HIT]") : null,
      ),
      h(
        "span",
        { class: "amount" },
        h("strong", {}, usd(p.spentUsd)),
        p.reservedUsd ? ` + ${usd(p.reservedUsd)} held` : "",
        ` / ${usd(p.ceilingUsd)} ceiling`,
      ),
    ),
    bar(p.spentUsd, p.reservedUsd, p.ceilingUsd, null, over ? "hit" : "", true),
  );
  fill(
    byId("budget-roles"),
    b.roles.map((r) =>
      h(
        "li",
        { dataset: { role: r.role } },
        h(
          "div",
          { class: "budget-line" },
          h(
            "span",
            { class: "name" },
            r.role,
            r.capHit
              ? h("span", { class: "marker cap-hit", title: r.capHitReason ?? "" }, "[CAP HIT]")
              : null,
            !r.capHit && r.softCapReached
              ? h("span", { class: "marker soft-cap" }, "(soft cap)")
              : null,
          ),
          h(
            "span",
            { class: "amount" },
            h("strong", {}, usd(r.spentUsd)),
            r.reservedUsd ? ` + ${usd(r.reservedUsd)} held` : "",
            ` / ${usd(r.capUsd)}`,
          ),
        ),
        bar(
          r.spentUsd,
          r.reservedUsd,
          r.capUsd,
          r.softCapUsd,
          r.capHit ? "hit" : r.softCapReached ? "soft" : "",
          false,
        ),
      ),
    ),
  );
}

/** Today's forecast, one line per cap, as `producer status` words it; the basis on hover. */
function renderForecast(s) {
  const f = s.forecast;
  const states = [...f.roles.map((r) => r.state), f.project.state];
  fill(
    byId("budget-forecast"),
    f.lines.map((line, i) => h("li", { dataset: { state: states[i] }, title: f.basis }, line)),
  );
}

/** Spent, then held, along a track; the soft cap as a tick. */
function bar(spent, reserved, cap, softCap, level, big) {
  const pct = (v) => `${Math.min(100, cap > 0 ? (v / cap) * 100 : 0)}%`;
  const held = Math.min(reserved, Math.max(0, cap - spent));
  return h(
    "div",
    { class: big ? "bar big" : "bar", dataset: { level } },
    h("span", { class: "reserved", style: { left: pct(spent), width: pct(held) } }),
    h("span", { class: "spent", style: { width: pct(spent) } }),
    softCap !== null && cap > 0
      ? h("span", {
          class: "soft-line",
          title: `soft cap ${usd(softCap)}`,
          style: { left: pct(softCap) },
        })
      : null,
  );
}

function renderAudit(s, now, hooks) {
  fill(
    byId("audit-feed"),
    s.audit.map((row) =>
      auditItem(
        row,
        now,
        row.entityId && row.entityType === "task"
          ? [
              " ",
              h(
                "button",
                {
                  type: "button",
                  class: "link mono",
                  title: row.entityId,
                  onclick: () => hooks.openTask(row.entityId),
                },
                shortId(row.entityId),
              ),
            ]
          : row.entityId
            ? h("span", { class: "muted small", title: row.entityId }, ` ${shortId(row.entityId)}`)
            : null,
        { dataset: { action: row.action, actor: row.actor } },
      ),
    ),
  );
}

const DELIVERY = { sent: "delivered", failed: "failed", not_sent: "not sent" };

function renderNtfy(s, now) {
  byId("ntfy-card").hidden = s.ntfy === null;
  if (!s.ntfy) return;
  byId("ntfy-topic").textContent = `${s.ntfy.server.replace(/\/$/, "")}/${s.ntfy.topic}`;
  byId("ntfy-empty").hidden = s.ntfy.items.length > 0;
  fill(
    byId("ntfy-feed"),
    s.ntfy.items.map((n) =>
      h(
        "li",
        { dataset: { delivery: n.delivery } },
        h("span", { class: "when", title: utc(n.createdAt) }, ago(n.createdAt, now)),
        h(
          "span",
          { class: "what" },
          h("strong", {}, n.title),
          h(
            "span",
            { class: "delivery", dataset: { delivery: n.delivery } },
            DELIVERY[n.delivery] ?? n.delivery,
          ),
        ),
        h(
          "span",
          { class: "details" },
          n.message,
          n.delivery === "failed" && n.deliveryError
            ? h("div", { class: "delivery-error" }, n.deliveryError)
            : null,
        ),
      ),
    ),
  );
}
