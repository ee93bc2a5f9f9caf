// The calls on screen and the channel positions, kept in sessionStorage so a reload resumes where it left off.
import { app, pops, chosen, leads, details, due, noteDrafts } from "./state.js";

// The channel positions and the pops they produced are stored together
// in sessionStorage, so a reload resumes exactly where the page left off
// with the calls still on screen. They are never stored apart: a position
// without its pops would skip calls the page no longer shows. Writes are
// coalesced, since a replay brings many messages at once, and flushed
// when the page goes away.
const VIEW_KEY = "tamas.console";
let saveTimer = null;

export function loadView(username) {
  app.channelPos = {};
  due.clear();
  noteDrafts.clear();
  pops.clear();
  chosen.clear();
  leads.clear();
  details.clear();
  app.currentId = null;
  let v = null;
  try { v = JSON.parse(sessionStorage.getItem(VIEW_KEY) || "null"); } catch (_) { v = null; }
  if (!v || v.user !== username || !v.pos || typeof v.pos !== "object" || !Array.isArray(v.pops)) return;
  for (const p of v.pops) if (p && typeof p.id === "string" && p.call) pops.set(p.id, p);
  for (const [ch, pos] of Object.entries(v.pos)) {
    if (pos && typeof pos.epoch === "string" && Number.isInteger(pos.seq)) app.channelPos[ch] = { epoch: pos.epoch, seq: pos.seq };
  }
  if (typeof v.current === "string" && pops.has(v.current)) app.currentId = v.current;
  for (const [id, i] of Array.isArray(v.chosen) ? v.chosen : []) {
    if (pops.has(id) && Number.isInteger(i) && i >= 0) chosen.set(id, i);
  }
  for (const [id, text] of Array.isArray(v.notes) ? v.notes : []) {
    if (pops.has(id) && typeof text === "string") noteDrafts.set(id, text);
  }
  for (const d of Array.isArray(v.due) ? v.due : []) {
    if (d && d.task && Number.isInteger(d.task.id)) due.set(d.task.id, { task: d.task, contact: d.contact || {} });
  }
  // Leads made from unknown callers, so a reload does not offer to make
  // them again.
  for (const [id, m] of Array.isArray(v.leads) ? v.leads : []) {
    if (pops.has(id) && m && m.contact && Number.isInteger(m.contact.id)) leads.set(id, m);
  }
}

export function flushView() {
  clearTimeout(saveTimer);
  saveTimer = null;
  if (!app.me) return;
  const view = { user: app.me.username, pos: app.channelPos, pops: [...pops.values()], current: app.currentId,
    leads: [...leads].filter(([id]) => pops.has(id)), due: [...due.values()],
    chosen: [...chosen].filter(([id]) => pops.has(id)), notes: [...noteDrafts].filter(([id, v]) => pops.has(id) && v) };
  try {
    sessionStorage.setItem(VIEW_KEY, JSON.stringify(view));
  } catch (_) {
    // Full or disabled: better to replay from scratch than resume past
    // calls that were not kept.
    try { sessionStorage.removeItem(VIEW_KEY); } catch (_) { /* nothing stored */ }
  }
}

export function saveView() {
  if (saveTimer === null) saveTimer = setTimeout(flushView, 250);
}

export function forgetView() {
  due.clear();
  clearTimeout(saveTimer);
  saveTimer = null;
  app.channelPos = {};
  pops.clear();
  details.clear();
  app.currentId = null;
  try { sessionStorage.removeItem(VIEW_KEY); } catch (_) { /* nothing stored */ }
}

window.addEventListener("pagehide", flushView);
