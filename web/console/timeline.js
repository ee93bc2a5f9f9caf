// The contact timeline: every call (with its script result), note and
// follow-up of a contact — of an organization's people too — newest first.
// Text from the CRM goes on the page only as text.
export const timelineView = (h) => {
  const { api, t, tOr, digits, el, clear, fmtDate, fmtDuration } = h;
  const box = document.getElementById("timeline-view");
  const list = document.getElementById("timeline-items");
  const title = document.getElementById("timeline-title");
  const orgs = document.getElementById("timeline-orgs");
  const more = document.getElementById("timeline-more");
  let contactId = 0;
  let next = "";

  const nameOf = (c) => (c.kind === "organization" ? c.name : [c.first_name, c.last_name].filter(Boolean).join(" ")) || "";

  async function open(id) {
    contactId = id;
    next = "";
    clear(list);
    clear(orgs);
    title.textContent = "";
    box.hidden = false;
    await page();
    const close = document.getElementById("timeline-close");
    if (close) close.focus();
  }

  async function page() {
    const id = contactId;
    let res;
    try {
      res = await api("GET", "/api/v1/contacts/" + id + "/timeline" + (next ? "?before=" + encodeURIComponent(next) : ""));
    } catch (_) {
      list.append(el("li", { class: "error", role: "alert", text: t("timeline_failed") }));
      return;
    }
    if (id !== contactId) return;
    const c = res.contact || {};
    title.textContent = nameOf(c);
    if (!next) {
      for (const o of c.organizations || []) {
        orgs.append(el("button", { type: "button", class: "link", dataset: { testid: "org-timeline" },
          text: t("org_timeline", { name: o.name || "" }), onclick: () => open(o.id) }));
      }
      if (!(res.items || []).length) list.append(el("li", { class: "empty", text: t("timeline_empty") }));
    }
    for (const it of res.items || []) list.append(item(it));
    next = res.next || "";
    more.hidden = !next;
  }

  function item(it) {
    const li = el("li", { dataset: { testid: "timeline-item", type: it.type } });
    li.append(el("time", { text: fmtDate(it.at) }));
    if (it.member) li.append(el("span", { class: "member", text: it.member.display_name || "", dir: "auto" }));
    if (it.type === "task" && it.task) {
      const tk = it.task;
      li.append(el("span", { class: "kind", text: t("kind_task") }),
        el("span", { class: "body", text: tk.title, dir: "auto" }),
        el("span", { class: "state", text: tk.done_at ? t("task_done") : t("due", { date: fmtDate(tk.due_at) }) }),
        tk.assignee ? el("span", { class: "agent", text: tk.assignee, dir: "auto" }) : null);
      return li;
    }
    const a = it.activity || {};
    li.dataset.kind = a.kind || "";
    li.append(el("span", { class: "kind", text: tOr("kind_" + a.kind, a.kind || "") }));
    if (a.kind === "call") {
      const facts = [a.outcome ? tOr("outcome_" + a.outcome, a.outcome) : "", a.queue || "",
        a.duration > 0 ? fmtDuration(a.duration / 1e6) : ""].filter(Boolean).join(" · ");
      li.append(el("span", { class: "facts", text: facts, dir: "auto" }));
      if (a.disposition) li.append(el("span", { class: "disposition", dataset: { testid: "timeline-disposition" }, text: h.dispositionLabel(a.disposition) }));
      const w = a.wrapup;
      if (w && w.script) li.append(el("span", { class: "score", text: t("score", { n: w.score }) }));
    }
    if (a.agent) li.append(el("span", { class: "agent", text: a.agent, dir: "auto" }));
    if (a.body) li.append(el("span", { class: "body", text: a.body, dir: "auto" }));
    return li;
  }

  document.getElementById("timeline-close").addEventListener("click", () => { box.hidden = true; });
  more.addEventListener("click", async () => {
    if (more.disabled) return;
    more.disabled = true; // one page at a time: a double click must not add it twice
    try { await page(); } finally { more.disabled = false; }
  });
  return { open, close: () => { box.hidden = true; } };
};
