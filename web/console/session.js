// Signing in and out, and opening the console for the signed-in agent.
import { $ } from "./dom.js";
import { api } from "./http.js";
import { app } from "./state.js";
import { t } from "./text.js";
import { loadView, flushView, forgetView } from "./view.js";
import { connect, disconnect } from "./connection.js";
import { setState, showState } from "./status.js";
import { loadTeam } from "./team.js";
import { onGesture } from "./alerts.js";
import { setLang } from "./lang.js";
import { render } from "./card.js";
import { renderRecent } from "./recent.js";

export function showLogin(message) {
  flushView();
  app.me = null;
  disconnect();
  document.body.dataset.view = "login";
  $("login-error").textContent = message || "";
  $("login-form").querySelector("input").focus();
}

export async function showConsole(user, state) {
  app.me = user;
  loadView(user.username);
  document.body.dataset.view = "console";
  render();
  renderRecent();
  $("who").textContent = user.display_name || user.username;
  if (!state || state.state === "offline") {
    state = await setState("available", "").catch(() => state);
  }
  showState(state);
  loadTeam();
  api("GET", "/api/v1/dispositions").then((r) => { app.dispositions = r.dispositions || []; }).catch(() => {});
  connect();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  onGesture();
  const f = ev.target;
  try {
    const res = await api("POST", "/api/v1/session", { username: f.username.value, password: f.password.value });
    f.password.value = "";
    if (res.user.lang === "fa" || res.user.lang === "en") setLang(res.user.lang);
    await showConsole(res.user, null);
  } catch (e) {
    $("login-error").textContent = t(e.code === "rate_limited" ? "rate_limited" : e.status === 401 ? "bad_credentials" : "login_failed");
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("DELETE", "/api/v1/session"); } catch (_) { /* already gone */ }
  app.me = null;
  forgetView();
  showLogin("");
});
