// The recent calls list, newest first: a click puts that call on the card.
import { $, el, clear } from "./dom.js";
import { app, pops } from "./state.js";
import { fmtTime } from "./text.js";
import { byStart, callerLabel } from "./pops.js";
import { render } from "./card.js";
import { saveView } from "./view.js";

export function renderRecent() {
  const list = $("recent");
  clear(list);
  const all = [...pops.values()].sort(byStart).slice(0, 20);
  for (const p of all) {
    list.append(el("li", {}, el("button", {
      type: "button", class: "recent-call" + (p.id === app.currentId ? " current" : ""), dataset: { state: p.state, testid: "recent-call" },
      onclick: () => { app.currentId = p.id; render(); renderRecent(); saveView(); },
    }, el("span", { text: callerLabel(p), dir: "auto" }), el("time", { text: fmtTime(p.call.started_at) }))));
  }
}
