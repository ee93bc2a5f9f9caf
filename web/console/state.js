// What the console holds in memory: who is signed in, the calls on screen and what the agent did with them.

// Storage may be disabled; the console then works without remembering.
export const local = {
  get(k) { try { return localStorage.getItem(k); } catch (_) { return null; } },
  set(k, v) { try { localStorage.setItem(k, v); } catch (_) { /* not kept */ } },
};

export const app = {
  lang: local.get("tamas.lang") === "fa" ? "fa" : "en",
  me: null, // the signed-in user
  currentId: null, // id of the pop on the card
  channelPos: {}, // channel → {epoch, seq} of the last message applied
  dispositions: [], // codes and labels, for the timeline
};

export const pops = new Map(); // pop id → latest version
export const chosen = new Map(); // pop id → index of the match the agent picked
export const leads = new Map(); // pop id → contact created from an unknown caller
export const details = new Map(); // contact id → {history, tasks} fetched on demand
export const due = new Map(); // task id → {task, contact}: follow-ups fallen due
export const noteDrafts = new Map(); // pop id → the note being written for that call
