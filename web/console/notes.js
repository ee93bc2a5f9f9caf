// The note being written on a call: kept with its call (and across reloads) until saved.
import { $, busyWhile } from "./dom.js";
import { api } from "./http.js";
import { app, pops, noteDrafts } from "./state.js";
import { t } from "./text.js";
import { matchOf, loadDetails } from "./matches.js";
import { saveView } from "./view.js";

// showNote puts the call's own draft in the note box when the card
// changes call, so a new call never takes another's note.
export function showNote(p) {
  const ni = $("note-input");
  if (ni.dataset.pop !== p.id) {
    ni.dataset.pop = p.id;
    ni.value = noteDrafts.get(p.id) || "";
    $("note-status").textContent = "";
  }
}

$("note-input").addEventListener("input", () => {
  const id = $("note-input").dataset.pop;
  if (id) { noteDrafts.set(id, $("note-input").value); saveView(); }
});

$("note-save").addEventListener("click", () => busyWhile($("note-save"), async () => {
  const p = app.currentId && pops.get(app.currentId);
  const m = p && matchOf(p);
  const body = $("note-input").value.trim();
  if (!m) return;
  if (!body) { $("note-status").textContent = t("note_empty"); return; }
  try {
    await api("POST", "/api/v1/contacts/" + m.contact.id + "/notes", { body, call_id: p.id });
    noteDrafts.delete(p.id);
    saveView();
    if ($("note-input").dataset.pop === p.id) $("note-input").value = "";
    $("note-status").textContent = t("note_saved");
    await loadDetails(m.contact.id);
  } catch (_) {
    $("note-status").textContent = t("note_failed");
  }
}));
