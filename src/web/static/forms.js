// The page's forms: file a task, arm and disarm the kill switch, clear the attention note,
// generate the morning report. Each posts to the server and refreshes the page.

import { postJson } from "./api.js";
import { byId, fill, toast } from "./dom.js";
import { shortId } from "./format.js";
import { renderMarkdown } from "./markdown.js";

/** @param {string} id */
const dialog = (id) => /** @type {HTMLDialogElement} */ (byId(id));
/** @param {string} id */
const form = (id) => /** @type {HTMLFormElement} */ (byId(id));

/** @param {string} id @param {string | null} message */
function showError(id, message) {
  const el = byId(id);
  el.textContent = message ?? "";
  el.hidden = !message;
}

/** Checks the payload box as it is typed: empty, or a JSON object. @param {string} text */
export function payloadProblem(text) {
  if (text.trim() === "") return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `payload is not valid JSON (${error.message})`;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return 'payload must be a JSON object like {"key": "value"}';
  }
  return null;
}

/**
 * @param {{ refresh: () => void, today: () => string | null }} page
 */
export function setUpForms(page) {
  for (const closer of document.querySelectorAll("[data-close]")) {
    closer.addEventListener("click", () => closer.closest("dialog")?.close());
  }

  // ---- file a task
  const taskForm = form("new-task-form");
  const payloadBox = /** @type {HTMLTextAreaElement} */ (byId("new-task-payload"));
  payloadBox.addEventListener("input", () => {
    const problem = payloadProblem(payloadBox.value);
    payloadBox.setAttribute("aria-invalid", String(problem !== null));
    showError("new-task-error", problem);
  });
  byId("btn-new-task").addEventListener("click", () => {
    showError("new-task-error", null);
    dialog("new-task-dialog").showModal();
    byId("new-task-title").focus();
  });
  taskForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(taskForm);
    const problem = payloadProblem(String(data.get("payload") ?? ""));
    if (problem) {
      showError("new-task-error", problem);
      payloadBox.focus();
      return;
    }
    try {
      const { task } = await postJson("/api/tasks", {
        role: data.get("role"),
        title: data.get("title"),
        description: data.get("description"),
        priority: Number(data.get("priority")),
        payload: data.get("payload"),
      });
      taskForm.reset();
      dialog("new-task-dialog").close();
      toast(`Filed ${shortId(task.id)} for ${task.agentOwner}: ${task.title}`);
      page.refresh();
    } catch (error) {
      showError("new-task-error", error.message);
    }
  });

  // ---- the kill switch
  const armForm = form("arm-form");
  byId("btn-arm").addEventListener("click", () => {
    showError("arm-error", null);
    dialog("arm-dialog").showModal();
    byId("arm-reason").focus();
  });
  armForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(armForm);
    try {
      await postJson("/api/killswitch/arm", {
        reason: String(data.get("reason") ?? ""),
        now: data.get("now") === "on",
      });
      armForm.reset();
      dialog("arm-dialog").close();
      toast("Kill switch armed: nothing new will be dispatched");
      page.refresh();
    } catch (error) {
      showError("arm-error", error.message);
    }
  });
  const disarm = async () => {
    try {
      const { previous } = await postJson("/api/killswitch/disarm");
      toast(
        previous ? "Kill switch released: dispatching resumes" : "The kill switch was not armed",
      );
      page.refresh();
    } catch (error) {
      toast(error.message, "error");
    }
  };
  byId("btn-disarm").addEventListener("click", disarm);
  byId("btn-banner-disarm").addEventListener("click", disarm);

  // ---- needs attention
  byId("btn-attention-clear").addEventListener("click", async () => {
    try {
      // The items the page shows, by id: one that arrived since stays open.
      const ids = [...document.querySelectorAll("#attention-list [data-attention-id]")].map((li) =>
        li.getAttribute("data-attention-id"),
      );
      await postJson("/api/attention/clear", { ids });
      page.refresh();
    } catch (error) {
      toast(error.message, "error");
    }
  });

  // ---- the morning report
  const reportForm = form("report-form");
  byId("btn-report").addEventListener("click", () => {
    const day = /** @type {HTMLInputElement} */ (byId("report-day"));
    if (!day.value) day.value = page.today() ?? "";
    showError("report-error", null);
    dialog("report-dialog").showModal();
  });
  reportForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const day = String(new FormData(reportForm).get("day") ?? "");
    showError("report-error", null);
    try {
      const report = await postJson("/api/report", day ? { day } : {});
      byId("report-path").textContent = `written to ${report.path}`;
      fill(byId("report-body"), renderMarkdown(report.markdown));
      page.refresh();
    } catch (error) {
      showError("report-error", error.message);
    }
  });
}
