// The team list supervisors see: every agent signed in, with their state.
import { $, el, clear } from "./dom.js";
import { api } from "./http.js";
import { app } from "./state.js";
import { tOr, fmtTime } from "./text.js";

const team = new Map(); // username → state, for supervisors

const isSupervisor = () => app.me && (app.me.role === "supervisor" || app.me.role === "admin");

export async function loadTeam() {
  $("team-box").hidden = !isSupervisor();
  if (!isSupervisor()) return;
  try {
    const res = await api("GET", "/api/v1/agents");
    team.clear();
    for (const a of res.agents || []) team.set(a.username, a);
    renderTeam();
  } catch (_) { /* the live updates still arrive */ }
}

// updateTeam takes an agent's new state, sent to supervisors as it changes.
export function updateTeam(agent) {
  team.set(agent.username, agent);
  renderTeam();
}

function renderTeam() {
  const list = $("team");
  clear(list);
  for (const a of [...team.values()].sort((x, y) => x.username.localeCompare(y.username))) {
    if (a.state === "offline") continue;
    const label = tOr("state_" + a.state, a.state) + (a.reason ? " · " + tOr("reason_" + a.reason, a.reason) : "");
    list.append(el("li", { dataset: { state: a.state } },
      el("span", { class: "n", text: a.username, dir: "auto" }),
      el("span", { class: "s", text: label }),
      el("time", { text: fmtTime(a.since) })));
  }
}
