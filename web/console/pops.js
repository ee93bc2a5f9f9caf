// The calls on screen: each pop's newest version, and which call the card shows.
import { app, pops, details } from "./state.js";
import { t, digits } from "./text.js";
import { ring, notifyCall } from "./alerts.js";
import { render } from "./card.js";
import { renderRecent } from "./recent.js";

const MAX_POPS = 50; // kept for the recent list and across reloads

const live = (p) => p.state !== "ended" && !(p.answered_by && app.me && p.answered_by !== app.me.username);
// mine: the pop was sent to this agent, not only to supervisors watching.
export const mine = (p) => !Array.isArray(p.agents) || p.agents.length === 0 || (app.me && p.agents.includes(app.me.username));
// busy: the agent is in a call of their own, whose card must stay put
// (a note being written belongs to that caller).
const busy = (p) => p && p.state !== "ended" && app.me && p.answered_by === app.me.username;
export const byStart = (a, b) => (Date.parse(b.call.started_at) || 0) - (Date.parse(a.call.started_at) || 0);

export function onPop(p) {
  if (!p || typeof p.id !== "string" || !p.call || !Number.isFinite(p.version)) return;
  const old = pops.get(p.id);
  if (old && old.version >= p.version) return;
  pops.set(p.id, p);
  if (!old) {
    // The pop carries the contacts' latest history: drop older copies.
    for (const m of p.matches || []) if (m && m.contact) details.delete(m.contact.id);
  }
  const fresh = Date.now() - Date.parse(p.updated_at) < 30000;
  if (!old && live(p) && mine(p)) {
    if (!busy(pops.get(app.currentId))) app.currentId = p.id;
    if (fresh) { ring(); notifyCall(p); }
  } else if (app.currentId === null || !pops.has(app.currentId)) {
    app.currentId = p.id;
  }
  prunePops();
  if (p.id === app.currentId) render();
  renderRecent();
}

function prunePops() {
  if (pops.size <= MAX_POPS) return;
  const keep = [...pops.values()].sort(byStart).slice(0, MAX_POPS);
  const cur = pops.get(app.currentId);
  pops.clear();
  for (const p of keep) pops.set(p.id, p);
  if (cur) pops.set(cur.id, cur);
}

export function callerLabel(p) {
  const m = p.matches && p.matches.length === 1 && p.matches[0];
  const name = (m && m.contact.display_name) || p.call.caller_name;
  if (name) return name;
  if (p.call.class === "withheld") return t("withheld");
  return digits(p.call.national || p.call.number || "") || t("unknown_number");
}
