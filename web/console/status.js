// The agent's own state (available, break, wrap-up): chosen here, kept by the server.
import { $ } from "./dom.js";
import { api } from "./http.js";
import { app } from "./state.js";

export async function setState(state, reason) {
  const res = await api("PUT", "/api/v1/me/state", { state, reason });
  return res.state;
}

export function showState(st) {
  if (!st) return;
  const sel = $("status-select");
  if (st.state !== "offline") sel.value = st.state;
  sel.dataset.state = st.state;
  $("break-reason").hidden = st.state !== "break";
  if (st.reason) $("break-reason").value = st.reason;
}

export async function chooseState(state) {
  const reason = state === "break" ? $("break-reason").value : "";
  try { showState(await setState(state, reason)); } catch (_) { /* shown by the select staying put */ }
}

// resyncState puts the agent's state back after a reconnect if the
// server lost it (a restarted node starts with everyone offline), so an
// agent who chose "available" keeps getting calls.
export async function resyncState() {
  const want = $("status-select").dataset.state;
  if (!app.me || !want || want === "offline") return;
  try {
    const res = await api("GET", "/api/v1/me");
    if (res.state && res.state.state === "offline") await chooseState(want);
  } catch (_) { /* the next reconnect tries again */ }
}

$("status-select").addEventListener("change", (ev) => chooseState(ev.target.value));
$("break-reason").addEventListener("change", () => chooseState("break"));
