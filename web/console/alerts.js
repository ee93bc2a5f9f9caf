// Getting the agent's attention: the ring, desktop notifications, and the gesture that allows them.
import { app, pops } from "./state.js";
import { t } from "./text.js";
import { callerLabel } from "./pops.js";
import { render } from "./card.js";
import { renderRecent } from "./recent.js";

let audio = null;

// onGesture does what browsers allow only in answer to the user: start
// the audio and ask to show notifications.
export function onGesture() {
  unlockAudio();
  try {
    if (window.Notification && Notification.permission === "default") {
      const asked = Notification.requestPermission();
      if (asked && asked.catch) asked.catch(() => {});
    }
  } catch (_) { /* not supported */ }
}

export function unlockAudio() {
  try {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    if (audio && audio.state === "suspended") audio.resume().catch(() => {});
  } catch (_) { audio = null; }
}

export function ring() {
  try {
    if (!audio || audio.state !== "running") return;
    const now = audio.currentTime;
    for (const start of [0, 0.35]) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.15, now + start);
      g.gain.exponentialRampToValueAtTime(0.001, now + start + 0.3);
      o.connect(g).connect(audio.destination);
      o.start(now + start);
      o.stop(now + start + 0.3);
    }
  } catch (_) { /* sound is a nicety */ }
}

// notifyCall raises a desktop notification for a new call. Its title and
// body are plain text whatever they contain.
export function notifyCall(p) {
  try {
    if (!window.Notification || Notification.permission !== "granted") return;
    const body = [t("notify_title"), p.call.line, p.call.queue].filter(Boolean).join(" · ");
    const n = new Notification(String(callerLabel(p)), { body, tag: p.id });
    n.onclick = () => {
      window.focus();
      if (pops.has(p.id)) { app.currentId = p.id; render(); renderRecent(); }
      n.close();
    };
  } catch (_) { /* not supported */ }
}

// notifyDue raises a desktop notification for a follow-up fallen due.
export function notifyDue(d) {
  try {
    if (window.Notification && Notification.permission === "granted") {
      new Notification(String(d.task.title), { body: String((d.contact && d.contact.display_name) || ""), tag: "task-" + d.task.id });
    }
  } catch (_) { /* not supported */ }
}
