// The console's websocket: connecting, resuming every channel where it left off, and dispatching what arrives.
import { app } from "./state.js";
import { t } from "./text.js";
import { saveView } from "./view.js";
import { onPop } from "./pops.js";
import { onDue } from "./due.js";
import { showState, resyncState } from "./status.js";
import { updateTeam } from "./team.js";
import { showLogin } from "./session.js";

let ws = null;
let backoff = 500;
let reconnectTimer = null;

export function setConn(up) {
  document.body.dataset.conn = up ? "up" : "down";
  document.querySelector("[data-testid=conn-indicator]").textContent = t(up ? "conn_up" : "conn_down");
}

export function connect() {
  clearTimeout(reconnectTimer);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const sock = new WebSocket(proto + "//" + location.host + "/api/v1/console/ws");
  ws = sock;
  sock.onopen = () => {
    const resume = Object.entries(app.channelPos).map(([channel, p]) => ({ channel, epoch: p.epoch, seq: p.seq }));
    sock.send(JSON.stringify({ type: "hello", resume }));
  };
  sock.onmessage = (ev) => {
    let f;
    try { f = JSON.parse(ev.data); } catch (_) { return; }
    onFrame(f);
  };
  sock.onclose = (ev) => {
    if (ws !== sock) return;
    setConn(false);
    if (ev.code === 4001) { showLogin(t("session_ended")); return; }
    if (ev.code === 4409) { app.channelPos = {}; saveView(); }
    const wait = Math.min(backoff, 10000) * (0.75 + Math.random() / 2);
    backoff = Math.min(backoff * 2, 10000);
    reconnectTimer = setTimeout(() => { if (app.me) connect(); }, wait);
  };
}

// disconnect closes the socket for good: no reconnecting after it.
export function disconnect() {
  if (ws) { ws.onclose = null; ws.close(); ws = null; }
  clearTimeout(reconnectTimer);
}

function onFrame(f) {
  switch (f.type) {
    case "welcome":
      setConn(true);
      backoff = 500;
      resyncState();
      break;
    case "reset":
      delete app.channelPos[f.channel];
      saveView();
      break;
    case "message":
      if (typeof f.channel !== "string" || typeof f.epoch !== "string" || !Number.isInteger(f.seq)) break;
      app.channelPos[f.channel] = { epoch: f.epoch, seq: f.seq };
      saveView();
      if (f.data && f.data.kind === "pop" && f.data.pop) onPop(f.data.pop);
      if (f.data && f.data.kind === "task_due" && f.data.task) onDue(f.data);
      if (f.data && f.data.kind === "agent_state" && f.data.agent && app.me) {
        if (f.data.agent.username === app.me.username) showState(f.data.agent);
        if (f.channel === "role:supervisor") updateTeam(f.data.agent);
      }
      break;
  }
}
