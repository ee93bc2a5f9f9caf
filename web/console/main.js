// The agent console's entry: shows the console for a signed-in agent, the sign-in form otherwise.
// Everything the network or the CRM sends is put on the page with
// textContent: caller names and numbers are chosen by strangers.
import { api } from "./http.js";
import { applyLang } from "./lang.js";
import { showConsole, showLogin } from "./session.js";

applyLang();
api("GET", "/api/v1/me")
  .then((res) => showConsole(res.user, res.state))
  .catch(() => showLogin(""));
