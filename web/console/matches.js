// The contact a call is about: the match the agent picked, or the lead made, and that contact's records.
import { $, el, clear } from "./dom.js";
import { api } from "./http.js";
import { app, pops, chosen, leads, details } from "./state.js";
import { t, tOr, digits, joinList } from "./text.js";
import { render } from "./card.js";
import { renderRecent } from "./recent.js";

export function matchOf(p) {
  if (leads.has(p.id)) return leads.get(p.id);
  if (!p.matches || p.matches.length === 0) return null;
  return p.matches[chosen.get(p.id) || 0] || p.matches[0];
}

export function renderMatches(p) {
  const box = $("matches");
  clear(box);
  if (leads.has(p.id) || !p.matches || p.matches.length < 2) return;
  box.append(el("p", { class: "hint", text: t("matches_n", { n: p.matches.length }) }));
  p.matches.forEach((m, i) => {
    const orgs = joinList((m.contact.organizations || []).map((o) => o.name));
    const b = el("button", {
      type: "button", class: "match" + ((chosen.get(p.id) || 0) === i ? " chosen" : ""),
      dataset: { testid: "match", index: String(i) },
      onclick: () => pick(i),
    },
    el("span", { class: "k", text: digits(String(i + 1)) }),
    el("span", { class: "n", text: m.contact.display_name, dir: "auto" }),
    orgs ? el("span", { class: "o", text: orgs, dir: "auto" }) : null,
    m.contact.status ? el("span", { class: "o", text: tOr("status_" + m.contact.status, m.contact.status) }) : null,
    el("span", { class: "h", text: tOr("how_" + m.how, m.how) }));
    box.append(b);
  });
}

export function pick(i) {
  const p = app.currentId && pops.get(app.currentId);
  if (!p || !p.matches || i >= p.matches.length) return;
  chosen.set(p.id, i);
  render();
  renderRecent();
  // The pop carries history for the first few matches only.
  const m = p.matches[i];
  if (!details.has(m.contact.id)) loadDetails(m.contact.id);
}

export async function loadDetails(id) {
  try {
    const [a, tk] = await Promise.all([
      api("GET", "/api/v1/contacts/" + id + "/activities"),
      api("GET", "/api/v1/contacts/" + id + "/tasks"),
    ]);
    details.set(id, { history: a.activities || [], tasks: tk.tasks || [] });
    render();
  } catch (_) { /* the pop's own copy stays */ }
}
