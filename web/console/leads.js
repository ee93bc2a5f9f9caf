// Creating a lead from an unknown caller, with the caller's number filled in.
import { $, busyWhile } from "./dom.js";
import { api } from "./http.js";
import { app, pops, leads } from "./state.js";
import { t } from "./text.js";
import { render } from "./card.js";
import { renderRecent } from "./recent.js";
import { saveView } from "./view.js";

// showLeadForm fills the form for a new caller; the name typed stays
// while the same call is on the card.
export function showLeadForm(p) {
  const c = p.call;
  const num = $("lead-number");
  if (num.dataset.pop !== p.id) {
    num.dataset.pop = p.id;
    num.value = c.e164 || c.number || "";
    $("lead-first").value = "";
    $("lead-last").value = "";
    $("lead-status").textContent = "";
  }
}

$("lead-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  busyWhile($("lead-form").querySelector("[type=submit]"), createLead);
});

async function createLead() {
  const p = app.currentId && pops.get(app.currentId);
  if (!p || leads.has(p.id)) return;
  const body = {
    kind: "person", status: "lead",
    first_name: $("lead-first").value.trim(), last_name: $("lead-last").value.trim(),
    phones: [{ label: "mobile", number: $("lead-number").value.trim() }],
  };
  try {
    const c = await api("POST", "/api/v1/contacts", body);
    const contact = c.contact || c;
    leads.set(p.id, { how: "", contact: {
      id: contact.id, kind: contact.kind, status: contact.status, owner: contact.owner, tags: contact.tags,
      display_name: [contact.first_name, contact.last_name].filter(Boolean).join(" ") || contact.name || "",
    }, history: [], tasks: [] });
    $("lead-status").textContent = t("lead_created");
    render();
    renderRecent();
    saveView();
  } catch (_) {
    $("lead-status").textContent = t("lead_failed");
  }
}
