// Keyboard shortcuts, and the help listing them.
import { $, el, clear } from "./dom.js";
import { app } from "./state.js";
import { t } from "./text.js";
import { onGesture, unlockAudio } from "./alerts.js";
import { chooseState } from "./status.js";
import { pick } from "./matches.js";
import { timeline } from "./panels.js";

const keys = [["n", "key_note"], ["l", "key_lead"], ["1–9", "key_pick"], ["c", "key_call"],
  ["a", "key_available"], ["b", "key_break"], ["w", "key_wrapup"], ["?", "key_help"], ["Esc", "key_close"]];

export function renderHelp() {
  const dl = $("help-list");
  clear(dl);
  for (const [k, label] of keys) dl.append(el("dt", {}, el("kbd", { text: k })), el("dd", { text: t(label) }));
}

$("help-close").addEventListener("click", () => { $("help").hidden = true; });

document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape") { $("help").hidden = true; timeline.close(); if (document.activeElement) document.activeElement.blur(); return; }
  const tag = (ev.target && ev.target.tagName) || "";
  if (!app.me || ev.ctrlKey || ev.metaKey || ev.altKey || ["INPUT", "TEXTAREA", "SELECT"].includes(tag)) return;
  unlockAudio();
  const k = ev.key;
  if (k === "?") $("help").hidden = !$("help").hidden;
  else if (k === "n" && !$("contact").hidden) { ev.preventDefault(); $("note-input").focus(); }
  else if (k === "l" && !$("lead-form").hidden) { ev.preventDefault(); $("lead-first").focus(); }
  else if (k === "c" && !$("call-back").hidden) $("call-back").click();
  else if (k === "a") { $("status-select").value = "available"; chooseState("available"); }
  else if (k === "b") { $("status-select").value = "break"; chooseState("break"); }
  else if (k === "w") { $("status-select").value = "wrapup"; chooseState("wrapup"); }
  else if (/^[1-9]$/.test(k)) pick(Number(k) - 1);
});
document.addEventListener("click", onGesture, { once: true });
