// Follow-ups fallen due: listed until marked done, each with a button to call the contact back.
import { $, el, clear, busyWhile } from "./dom.js";
import { api } from "./http.js";
import { due } from "./state.js";
import { t, digits, fmtTime } from "./text.js";
import { ring, notifyDue } from "./alerts.js";
import { dial } from "./calls.js";
import { saveView } from "./view.js";

export function onDue(d) {
  if (!Number.isInteger(d.task.id) || due.has(d.task.id)) return;
  due.set(d.task.id, { task: d.task, contact: d.contact || {} });
  renderDue();
  saveView();
  ring();
  notifyDue(d);
}

export function renderDue() {
  const list = $("due-tasks");
  clear(list);
  $("due-box").hidden = due.size === 0;
  for (const { task, contact } of due.values()) {
    const status = el("span", { role: "status", class: "hint" });
    list.append(el("li", { dataset: { testid: "due-task" } },
      el("span", { class: "n", text: task.title, dir: "auto" }),
      el("span", { class: "o", text: contact.display_name || "", dir: "auto" }),
      contact.number ? el("bdi", { dir: "ltr", text: digits(contact.number) }) : null,
      el("time", { text: fmtTime(task.due_at) }),
      el("div", { class: "row" },
        contact.number ? el("button", { type: "button", class: "call", text: t("call_back"), dataset: { testid: "due-call-back" },
          onclick: (ev) => busyWhile(ev.currentTarget, () => dial(status, contact.number, contact.id || 0)) }) : null,
        el("button", { type: "button", class: "link", text: t("done"), dataset: { testid: "due-done" },
          onclick: async () => {
            try { await api("POST", "/api/v1/tasks/" + task.id + "/done"); } catch (e) { if (e.status !== 404) return; }
            due.delete(task.id);
            renderDue();
            saveView();
          } }),
        status)));
  }
}
