// The wrap-up panel and the contact timeline, given what they need from the console, and the buttons opening them.
import { $, el, clear } from "./dom.js";
import { api } from "./http.js";
import { app, pops } from "./state.js";
import { t, tOr, digits, fmtDate, fmtDuration } from "./text.js";
import { wrapUpPanel } from "./wrapup.js";
import { timelineView } from "./timeline.js";
import { matchOf, loadDetails } from "./matches.js";
import { render } from "./card.js";

const dispositionLabel = (code) => {
  const d = app.dispositions.find((x) => x.code === code);
  return (d && d.labels && d.labels[app.lang]) || code;
};

export const timeline = timelineView({ api, t, tOr, digits, el, clear, fmtDate, fmtDuration, dispositionLabel });

export const panel = wrapUpPanel({ api, t, digits, el, clear, fmtDate, lang: () => app.lang, me: () => app.me,
  finished: (w) => { if (w.contact_id) loadDetails(w.contact_id); } });

$("timeline-open").addEventListener("click", () => {
  const p = app.currentId && pops.get(app.currentId);
  const m = p && matchOf(p);
  if (m) timeline.open(m.contact.id);
});

$("start-script").addEventListener("click", () => {
  const p = app.currentId && pops.get(app.currentId);
  if (!p) return;
  panel.start(p, matchOf(p));
  render();
});
