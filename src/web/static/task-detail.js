// The task panel: everything about one task, and the human actions on it.

import { getJson, postJson } from "./api.js";
import { auditItem, byId, fill, h, roleBadge, statusBadge, toast } from "./dom.js";
import { ago, count, shortId, statusLabel, usd, utc } from "./format.js";

const CAN = {
  requeue: ["failed", "escalated", "killed"],
  kill: ["awaiting_approval", "pending", "in_progress", "failed", "escalated"],
  reroute: ["awaiting_approval", "pending", "failed", "escalated"],
  approve: ["awaiting_approval"],
  deny: ["awaiting_approval"],
};

/**
 * @param {{ roles: () => string[], changed: () => void }} app
 */
export function createTaskPanel(app) {
  const dialog = /** @type {HTMLDialogElement} */ (byId("task-dialog"));
  const body = byId("task-body");
  const killForm = /** @type {HTMLFormElement} */ (byId("act-kill"));
  const rerouteForm = /** @type {HTMLFormElement} */ (byId("act-reroute"));
  const requeueButton = byId("act-requeue");
  const approveButton = byId("act-approve");
  const denyForm = /** @type {HTMLFormElement} */ (byId("act-deny"));
  /** @type {string | null} */
  let taskId = null;
  let shown = "";
  /** @type {any} */
  let current = null;

  async function open(id) {
    if (taskId !== id) {
      shown = "";
      killForm.reset();
    }
    taskId = id;
    if (!dialog.open) dialog.showModal();
    await refresh();
  }

  async function refresh() {
    if (!taskId || !dialog.open) return;
    try {
      const detail = await getJson(`/api/tasks/${encodeURIComponent(taskId)}`);
      const text = JSON.stringify(detail);
      if (text === shown) return;
      shown = text;
      current = detail;
      render(detail);
    } catch (error) {
      fill(body, h("p", { class: "form-error" }, error.message));
    }
  }

  /** Runs one action on the open task; the panel and the page refresh right after. */
  async function act(change, payload, done) {
    if (!current) return;
    const id = current.task.id;
    try {
      const { task } = await postJson(`/api/tasks/${encodeURIComponent(id)}/${change}`, payload);
      toast(`${done} ${shortId(task.id)}: now ${statusLabel(task.status)} (${task.agentOwner})`);
      killForm.reset();
      denyForm.reset();
      shown = "";
      await refresh();
      app.changed();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  requeueButton.addEventListener("click", () => act("requeue", {}, "Requeued"));
  approveButton.addEventListener("click", () => act("approve", {}, "Approved"));
  denyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = String(new FormData(denyForm).get("reason") ?? "").trim();
    act("deny", { reason }, "Denied");
  });
  killForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = String(new FormData(killForm).get("reason") ?? "").trim();
    act("kill", { reason }, "Killed");
  });
  rerouteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const role = String(new FormData(rerouteForm).get("role") ?? "");
    act("reroute", { role }, "Rerouted");
  });
  dialog.addEventListener("close", () => {
    taskId = null;
    current = null;
    shown = "";
  });

  function render(detail) {
    const t = detail.task;
    const now = Date.now();
    fill(
      byId("task-badges"),
      statusBadge(t.status),
      roleBadge(t.agentOwner),
      h("span", { class: "muted small" }, `priority ${t.priority}`),
    );
    byId("task-title").textContent = t.title;
    byId("task-id").textContent = t.id;

    requeueButton.hidden = !CAN.requeue.includes(t.status);
    approveButton.hidden = !CAN.approve.includes(t.status);
    denyForm.hidden = !CAN.deny.includes(t.status);
    killForm.hidden = !CAN.kill.includes(t.status);
    rerouteForm.hidden = !CAN.reroute.includes(t.status);
    const select = /** @type {HTMLSelectElement} */ (rerouteForm.elements.namedItem("role"));
    const others = app.roles().filter((r) => r !== t.agentOwner);
    if ([...select.options].map((o) => o.value).join() !== others.join()) {
      fill(
        select,
        others.map((r) => h("option", { value: r }, `to ${r}`)),
      );
    }

    const link = (line) =>
      h("button", { type: "button", class: "link", onclick: () => open(line.id) }, line.title);
    const idLink = (id) =>
      h("button", { type: "button", class: "link mono", onclick: () => open(id) }, id);
    const fact = (label, ...value) => h("div", {}, h("dt", {}, label), h("dd", {}, ...value));
    const tokens = `${count(t.inputTokens)} in · ${count(t.outputTokens)} out`;
    const cache = `${count(t.cacheCreationTokens)} write · ${count(t.cacheReadTokens)} read`;
    const section = (title, ...content) => h("section", {}, h("h3", {}, title), ...content);

    fill(
      body,
      h(
        "dl",
        { class: "facts" },
        fact("created", utc(t.createdAt), h("div", { class: "muted small" }, `by ${t.createdBy}`)),
        fact("started", utc(t.startedAt)),
        fact("finished", utc(t.finishedAt)),
        fact("updated", ago(t.updatedAt, now)),
        fact("attempts", String(t.attempts)),
        fact("cost (computed)", usd(t.costUsd)),
        fact("cost (reported)", t.actualCostUsd === null ? "— not reported" : usd(t.actualCostUsd)),
        fact("model", t.model ?? "—"),
        fact("tokens", tokens),
        fact("cache tokens", cache),
        t.notBefore ? fact("not before", utc(t.notBefore)) : null,
        t.claimedBy ? fact("claimed by", t.claimedBy) : null,
        t.leaseExpiresAt ? fact("lease until", utc(t.leaseExpiresAt)) : null,
        fact(
          "parent",
          detail.parent ? link(detail.parent) : (t.parentTaskId ?? "— (filed by a human)"),
        ),
        t.dependsOn.length
          ? fact(
              "depends on",
              t.dependsOn.map((id) => h("div", {}, idLink(id))),
            )
          : null,
      ),
      t.lastError ? section("last error", h("pre", { class: "error" }, t.lastError)) : null,
      t.result ? section("result", h("pre", {}, t.result)) : null,
      section(
        "description",
        t.description
          ? h("div", { class: "prose" }, t.description)
          : h("p", { class: "muted" }, "No description."),
      ),
      section("payload", h("pre", {}, JSON.stringify(t.payload, null, 2))),
      section(
        `attempts (${detail.attempts.length})`,
        detail.attempts.length
          ? h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                {},
                h(
                  "thead",
                  {},
                  h(
                    "tr",
                    {},
                    h("th", {}, "#"),
                    h("th", {}, "started"),
                    h("th", {}, "outcome"),
                    h("th", { class: "num" }, "cost"),
                    h("th", {}, "error"),
                    h("th", {}, "output"),
                  ),
                ),
                h(
                  "tbody",
                  {},
                  detail.attempts.map((a) =>
                    h(
                      "tr",
                      {},
                      h("td", {}, String(a.attempt)),
                      h("td", { class: "small" }, utc(a.startedAt)),
                      h("td", {}, a.outcome),
                      h("td", { class: "num" }, usd(a.costUsd)),
                      h("td", { class: "small" }, a.error ?? ""),
                      h(
                        "td",
                        { class: "small" },
                        a.logUrl
                          ? h("a", { href: a.logUrl, target: "_blank", rel: "noopener" }, "log")
                          : "",
                      ),
                    ),
                  ),
                ),
              ),
            )
          : h("p", { class: "muted" }, "Not dispatched yet."),
      ),
      section(
        `decisions (${detail.decisions.length})`,
        detail.decisions.length
          ? h(
              "ul",
              { class: "list-plain" },
              detail.decisions.map((d) =>
                h(
                  "li",
                  {},
                  h(
                    "div",
                    {},
                    h("strong", {}, d.kind),
                    " · ",
                    d.agentOwner,
                    " · ",
                    h("span", { class: "muted small" }, utc(d.createdAt)),
                  ),
                  h("div", {}, d.decisionText),
                  d.rationale ? h("div", { class: "muted small" }, `why: ${d.rationale}`) : null,
                ),
              ),
            )
          : h("p", { class: "muted" }, "None recorded."),
      ),
      section(
        `assets (${detail.assets.length})`,
        detail.assets.length
          ? h(
              "ul",
              { class: "list-plain" },
              detail.assets.map((a) =>
                h(
                  "li",
                  {},
                  h("span", { class: "mono" }, a.path),
                  " ",
                  h("span", { class: "role" }, a.kind),
                  a.description ? h("div", { class: "muted small" }, a.description) : null,
                ),
              ),
            )
          : h("p", { class: "muted" }, "None registered."),
      ),
      section(
        `children (${count(detail.childCount)})`,
        detail.children.length
          ? h(
              "ul",
              { class: "list-plain" },
              detail.children.map((c) =>
                h("li", {}, statusBadge(c.status), " ", roleBadge(c.role), " ", link(c)),
              ),
              detail.childCount > detail.children.length
                ? h(
                    "li",
                    { class: "muted" },
                    `…and ${count(detail.childCount - detail.children.length)} more`,
                  )
                : null,
            )
          : h("p", { class: "muted" }, "No tasks filed from this one."),
      ),
      section(
        `audit events (${detail.audit.length})`,
        h(
          "ol",
          { class: "feed" },
          detail.audit.map((row) => auditItem(row, now)),
        ),
      ),
    );
  }

  return { open, refresh, isOpen: () => dialog.open };
}
