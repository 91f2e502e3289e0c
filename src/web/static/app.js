// The dashboard page: reads /api/state whenever the server says the ledger changed (or every
// two seconds when it cannot; see live.js), the charts every thirty, and redraws from the
// answers. All ledger text reaches the page through dom.js as text nodes.

import { getJson, postJson } from "./api.js";
import { Chart, drawQueue, drawSpend } from "./charts.js";
import { byId, fill, h, toast } from "./dom.js";
import { shortId, statusLabel } from "./format.js";
import { setUpForms } from "./forms.js";
import { markScrollableTables, setUpBanners } from "./layout.js";
import { POLL_MS, PUSHED_POLL_MS, startLive } from "./live.js";
import { renderPage } from "./render.js";
import { createTaskPanel } from "./task-detail.js";

const CHART_POLL_MS = 30_000;

/** What the task list shows; sent with every poll so the list stays live. */
const view = { status: "", role: "", q: "", offset: 0 };
/** @type {any} */
let state = null;
let lastUpdate = 0;
let queueRange = "14d";

const taskPanel = createTaskPanel({
  roles: () => state?.project.roles ?? [],
  changed: () => refresh(),
});
const hooks = { view, openTask: (id) => taskPanel.open(id), setFilter, decide };

/** Approves or denies a task from the awaiting list; the page redraws from the new state. */
async function decide(id, change, reason) {
  if (change === "deny" && reason === "") {
    toast("Say why in the box next to Deny: whoever filed the task reads it", "error");
    return;
  }
  try {
    const { task } = await postJson(`/api/tasks/${encodeURIComponent(id)}/${change}`, { reason });
    toast(
      `${change === "approve" ? "Approved" : "Denied"} ${shortId(task.id)}: now ${statusLabel(task.status)}`,
    );
  } catch (error) {
    toast(error.message, "error");
  }
  await refresh();
}

// ---- staying current --------------------------------------------------------------------

const live = byId("live");
let pollTimer = 0;
/** @type {Promise<void> | null} */
let loading = null;
let again = false;

/** Reads the state and redraws; a call while one runs makes one more run after it. */
function refresh() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = load().finally(() => {
    loading = null;
    if (again) {
      again = false;
      refresh();
    }
  });
  return loading;
}

async function load() {
  clearTimeout(pollTimer);
  const params = new URLSearchParams();
  if (view.status) params.set("status", view.status);
  if (view.role) params.set("role", view.role);
  if (view.q) params.set("q", view.q);
  if (view.offset) params.set("offset", String(view.offset));
  try {
    state = await getJson(`/api/state?${params}`);
    lastUpdate = Date.now();
    syncRoleOptions(state.project.roles);
    renderPage(state, hooks);
    live.dataset.live = "live";
    showLive();
    await taskPanel.refresh();
  } catch (error) {
    live.dataset.live = "offline";
    live.textContent = `offline: ${error.message}`;
  }
  pollTimer = window.setTimeout(refresh, stream.mode() === "push" ? PUSHED_POLL_MS : POLL_MS);
}

const stream = startLive({
  refresh,
  onMode(mode, why) {
    live.dataset.mode = mode;
    live.title = why;
    showLive();
  },
});

/** The connection line: "live" while pushed to, "polling" (and the data's age) otherwise. */
function showLive() {
  if (live.dataset.live !== "live") return;
  if (stream.mode() === "push") {
    // Pushed: the page is as new as the ledger, however long ago that last changed.
    live.textContent = "live";
    return;
  }
  const seconds = Math.round((Date.now() - lastUpdate) / 1000);
  live.textContent = seconds < 3 ? "polling" : `polling · updated ${seconds}s ago`;
}

setInterval(showLive, 1000);

const spendChart = new Chart(byId("chart-spend"));
const queueChart = new Chart(byId("chart-queue"));
let chartTimer = 0;
async function refreshCharts() {
  clearTimeout(chartTimer);
  try {
    const charts = await getJson(`/api/charts?range=${queueRange}`);
    drawSpend(spendChart, charts.spend);
    drawQueue(queueChart, charts.queue);
  } catch {
    // The state poll already shows the connection's health; the charts try again later.
  }
  chartTimer = window.setTimeout(refreshCharts, CHART_POLL_MS);
}

// ---- filters and paging --------------------------------------------------------------------

let knownRoles = "";
/** @param {string[]} roles */
function syncRoleOptions(roles) {
  if (roles.join() === knownRoles) return;
  knownRoles = roles.join();
  const filter = /** @type {HTMLSelectElement} */ (byId("filter-role"));
  fill(
    filter,
    h("option", { value: "" }, "all roles"),
    roles.map((r) => h("option", { value: r }, r)),
  );
  filter.value = view.role;
  fill(
    byId("new-task-role"),
    roles.map((r) => h("option", { value: r }, r)),
  );
}

/** @param {Partial<typeof view>} change */
function setFilter(change) {
  Object.assign(view, change, { offset: 0 });
  /** @type {HTMLSelectElement} */ (byId("filter-status")).value = view.status;
  /** @type {HTMLSelectElement} */ (byId("filter-role")).value = view.role;
  /** @type {HTMLInputElement} */ (byId("filter-text")).value = view.q;
  refresh();
}

byId("filter-status").addEventListener("change", (e) => setFilter({ status: e.target.value }));
byId("filter-role").addEventListener("change", (e) => setFilter({ role: e.target.value }));
let searchTimer = 0;
byId("filter-text").addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => setFilter({ q: e.target.value.trim() }), 250);
});
byId("task-filters").addEventListener("submit", (e) => e.preventDefault());
byId("filter-clear").addEventListener("click", () => setFilter({ status: "", role: "", q: "" }));
byId("page-prev").addEventListener("click", () => {
  view.offset = Math.max(0, view.offset - (state?.tasks.limit ?? 50));
  refresh();
});
byId("page-next").addEventListener("click", () => {
  view.offset += state?.tasks.limit ?? 50;
  refresh();
});

for (const button of document.querySelectorAll("[data-range]")) {
  button.addEventListener("click", () => {
    queueRange = button.getAttribute("data-range") ?? "14d";
    for (const other of document.querySelectorAll("[data-range]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    refreshCharts();
  });
}

setUpForms({
  refresh,
  today: () => state?.project.day ?? null,
});

setUpBanners();
markScrollableTables();

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});

refresh();
// uPlot is a deferred classic script, so it has run before this module; the check is cheap.
if (document.readyState === "complete") refreshCharts();
else window.addEventListener("load", refreshCharts);
