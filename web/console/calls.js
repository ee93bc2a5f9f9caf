// Click-to-call: the agent's phone rings, then calls the caller or a contact back.
import { $, busyWhile } from "./dom.js";
import { api } from "./http.js";
import { app, pops } from "./state.js";
import { t } from "./text.js";
import { matchOf } from "./matches.js";

export const callable = (p) => p.call.class !== "withheld" && !!(p.call.e164 || p.call.number);

// dial asks the server to place a call, saying how it went in status.
export async function dial(status, number, contactId) {
  status.textContent = t("calling");
  try {
    await api("POST", "/api/v1/calls", { number, contact_id: contactId });
  } catch (e) {
    status.textContent = t(e.code === "no_pbx" ? "call_no_pbx" : e.code === "no_endpoint" ? "call_no_endpoint" : "call_failed");
  }
}

$("call-back").addEventListener("click", () => busyWhile($("call-back"), async () => {
  const p = app.currentId && pops.get(app.currentId);
  if (!p || !callable(p)) return;
  const m = matchOf(p);
  await dial($("call-status"), p.call.e164 || p.call.number, m ? m.contact.id : 0);
}));
