// The agent console. Everything the network or the CRM sends is put on the
// page with textContent: caller names and numbers are chosen by strangers.
import { strings as I18N } from "./i18n.js";
import { wrapUpPanel } from "./wrapup.js";
import { timelineView } from "./timeline.js";

{
  const $ = (id) => document.getElementById(id);

  // Storage may be disabled; the console then works without remembering.
  const local = {
    get(k) { try { return localStorage.getItem(k); } catch (_) { return null; } },
    set(k, v) { try { localStorage.setItem(k, v); } catch (_) { /* not kept */ } },
  };
  let lang = local.get("tamas.lang") === "fa" ? "fa" : "en";
  let me = null;
  let ws = null;
  let backoff = 500;
  let reconnectTimer = null;
  let audio = null;
  const pops = new Map(); // pop id → latest version
  const MAX_POPS = 50; // kept for the recent list and across reloads
  const chosen = new Map(); // pop id → index of the match the agent picked
  const leads = new Map(); // pop id → contact created from an unknown caller
  const details = new Map(); // contact id → {history, tasks} fetched on demand
  let currentId = null;
  const team = new Map(); // username → state, for supervisors
  let channelPos = {}; // channel → {epoch, seq} of the last message applied
  const due = new Map(); // task id → {task, contact}: follow-ups fallen due
  const noteDrafts = new Map(); // pop id → the note being written for that call

  // ---- text, numbers and dates -------------------------------------------

  function t(key, vars) {
    let s = (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", () => String(v));
    return lang === "fa" ? digits(s) : s;
  }

  const faDigits = "۰۱۲۳۴۵۶۷۸۹";
  function digits(s) {
    s = String(s == null ? "" : s);
    return lang === "fa" ? s.replace(/[0-9]/g, (d) => faDigits[d]) : s;
  }

  function fmtDate(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const loc = lang === "fa" ? "fa-IR-u-ca-persian-nu-arabext" : "en-GB";
    return new Intl.DateTimeFormat(loc, { dateStyle: "medium", timeStyle: "short" }).format(d);
  }

  // fmtTime is a short clock time for today's calls, the full date otherwise.
  function fmtTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    if (d.toDateString() !== new Date().toDateString()) return fmtDate(iso);
    const loc = lang === "fa" ? "fa-IR-u-ca-persian-nu-arabext" : "en-GB";
    return new Intl.DateTimeFormat(loc, { timeStyle: "short" }).format(d);
  }

  function fmtDuration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    return digits((h ? h + ":" : "") + mm + ":" + ss);
  }

  // tOr translates a key built from data, falling back to the raw value
  // for one the console does not know yet.
  function tOr(key, raw) {
    return I18N.en[key] ? t(key) : digits(raw);
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function applyLang() {
    document.documentElement.lang = lang;
    document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
    for (const n of document.querySelectorAll("[data-i18n]")) n.textContent = t(n.dataset.i18n);
    for (const n of document.querySelectorAll("[data-i18n-placeholder]")) {
      n.placeholder = t(n.dataset.i18nPlaceholder);
      n.setAttribute("aria-label", n.placeholder);
    }
    $("lang-switch").textContent = lang === "fa" ? "English" : "فارسی";
    document.title = t("brand");
    renderHelp();
    setConn(document.body.dataset.conn === "up");
    panel.redraw();
    render();
    renderDue();
    renderRecent();
  }

  // ---- HTTP ----------------------------------------------------------------

  async function api(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: { "X-Tamas-Request": "1" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    let data = null;
    try { data = await r.json(); } catch (_) { /* empty body */ }
    if (!r.ok) {
      const e = new Error((data && data.error && data.error.message) || String(r.status));
      e.status = r.status;
      e.code = data && data.error && data.error.code;
      e.field = data && data.error && data.error.field;
      throw e;
    }
    return data;
  }

  let dispositions = []; // codes and labels, for the timeline
  const dispositionLabel = (code) => {
    const d = dispositions.find((x) => x.code === code);
    return (d && d.labels && d.labels[lang]) || code;
  };
  const timeline = timelineView({ api, t, tOr, digits, el, clear, fmtDate, fmtDuration, dispositionLabel });

  const panel = wrapUpPanel({ api, t, digits, el, clear, fmtDate, lang: () => lang, me: () => me,
    finished: (w) => { if (w.contact_id) loadDetails(w.contact_id); } });

  // ---- login -----------------------------------------------------------------

  function showLogin(message) {
    flushView();
    me = null;
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    clearTimeout(reconnectTimer);
    document.body.dataset.view = "login";
    $("login-error").textContent = message || "";
    $("login-form").querySelector("input").focus();
  }

  async function showConsole(user, state) {
    me = user;
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
    api("GET", "/api/v1/dispositions").then((r) => { dispositions = r.dispositions || []; }).catch(() => {});
    connect();
  }

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    onGesture();
    const f = ev.target;
    try {
      const res = await api("POST", "/api/v1/session", { username: f.username.value, password: f.password.value });
      f.password.value = "";
      if (res.user.lang === "fa" || res.user.lang === "en") {
        lang = res.user.lang;
        local.set("tamas.lang", lang);
        applyLang();
      }
      await showConsole(res.user, null);
    } catch (e) {
      $("login-error").textContent = t(e.code === "rate_limited" ? "rate_limited" : e.status === 401 ? "bad_credentials" : "login_failed");
    }
  });

  $("logout").addEventListener("click", async () => {
    try { await api("DELETE", "/api/v1/session"); } catch (_) { /* already gone */ }
    me = null;
    forgetView();
    showLogin("");
  });

  $("lang-switch").addEventListener("click", () => {
    lang = lang === "fa" ? "en" : "fa";
    local.set("tamas.lang", lang);
    applyLang();
    if (me) api("PUT", "/api/v1/me/lang", { lang }).catch(() => {});
  });

  // ---- agent state -----------------------------------------------------------

  async function setState(state, reason) {
    const res = await api("PUT", "/api/v1/me/state", { state, reason });
    return res.state;
  }

  function showState(st) {
    if (!st) return;
    const sel = $("status-select");
    if (st.state !== "offline") sel.value = st.state;
    sel.dataset.state = st.state;
    $("break-reason").hidden = st.state !== "break";
    if (st.reason) $("break-reason").value = st.reason;
  }

  async function chooseState(state) {
    const reason = state === "break" ? $("break-reason").value : "";
    try { showState(await setState(state, reason)); } catch (_) { /* shown by the select staying put */ }
  }

  // resyncState puts the agent's state back after a reconnect if the
  // server lost it (a restarted node starts with everyone offline), so an
  // agent who chose "available" keeps getting calls.
  async function resyncState() {
    const want = $("status-select").dataset.state;
    if (!me || !want || want === "offline") return;
    try {
      const res = await api("GET", "/api/v1/me");
      if (res.state && res.state.state === "offline") await chooseState(want);
    } catch (_) { /* the next reconnect tries again */ }
  }

  $("status-select").addEventListener("change", (ev) => chooseState(ev.target.value));
  $("break-reason").addEventListener("change", () => chooseState("break"));

  // ---- websocket -------------------------------------------------------------

  // The channel positions and the pops they produced are stored together
  // in sessionStorage, so a reload resumes exactly where the page left off
  // with the calls still on screen. They are never stored apart: a position
  // without its pops would skip calls the page no longer shows. Writes are
  // coalesced, since a replay brings many messages at once, and flushed
  // when the page goes away.
  const VIEW_KEY = "tamas.console";
  let saveTimer = null;

  function loadView(username) {
    channelPos = {};
    due.clear();
    noteDrafts.clear();
    pops.clear();
    chosen.clear();
    leads.clear();
    details.clear();
    currentId = null;
    let v = null;
    try { v = JSON.parse(sessionStorage.getItem(VIEW_KEY) || "null"); } catch (_) { v = null; }
    if (!v || v.user !== username || !v.pos || typeof v.pos !== "object" || !Array.isArray(v.pops)) return;
    for (const p of v.pops) if (p && typeof p.id === "string" && p.call) pops.set(p.id, p);
    for (const [ch, pos] of Object.entries(v.pos)) {
      if (pos && typeof pos.epoch === "string" && Number.isInteger(pos.seq)) channelPos[ch] = { epoch: pos.epoch, seq: pos.seq };
    }
    if (typeof v.current === "string" && pops.has(v.current)) currentId = v.current;
    for (const [id, i] of Array.isArray(v.chosen) ? v.chosen : []) {
      if (pops.has(id) && Number.isInteger(i) && i >= 0) chosen.set(id, i);
    }
    for (const [id, text] of Array.isArray(v.notes) ? v.notes : []) {
      if (pops.has(id) && typeof text === "string") noteDrafts.set(id, text);
    }
    for (const d of Array.isArray(v.due) ? v.due : []) {
      if (d && d.task && Number.isInteger(d.task.id)) due.set(d.task.id, { task: d.task, contact: d.contact || {} });
    }
    // Leads made from unknown callers, so a reload does not offer to make
    // them again.
    for (const [id, m] of Array.isArray(v.leads) ? v.leads : []) {
      if (pops.has(id) && m && m.contact && Number.isInteger(m.contact.id)) leads.set(id, m);
    }
  }

  function flushView() {
    clearTimeout(saveTimer);
    saveTimer = null;
    if (!me) return;
    const view = { user: me.username, pos: channelPos, pops: [...pops.values()], current: currentId,
      leads: [...leads].filter(([id]) => pops.has(id)), due: [...due.values()],
      chosen: [...chosen].filter(([id]) => pops.has(id)), notes: [...noteDrafts].filter(([id, v]) => pops.has(id) && v) };
    try {
      sessionStorage.setItem(VIEW_KEY, JSON.stringify(view));
    } catch (_) {
      // Full or disabled: better to replay from scratch than resume past
      // calls that were not kept.
      try { sessionStorage.removeItem(VIEW_KEY); } catch (_) { /* nothing stored */ }
    }
  }

  function saveView() {
    if (saveTimer === null) saveTimer = setTimeout(flushView, 250);
  }

  function forgetView() {
    due.clear();
    clearTimeout(saveTimer);
    saveTimer = null;
    channelPos = {};
    pops.clear();
    details.clear();
    currentId = null;
    try { sessionStorage.removeItem(VIEW_KEY); } catch (_) { /* nothing stored */ }
  }

  window.addEventListener("pagehide", flushView);

  function setConn(up) {
    document.body.dataset.conn = up ? "up" : "down";
    document.querySelector("[data-testid=conn-indicator]").textContent = t(up ? "conn_up" : "conn_down");
  }

  function connect() {
    clearTimeout(reconnectTimer);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(proto + "//" + location.host + "/api/v1/console/ws");
    ws = sock;
    sock.onopen = () => {
      const resume = Object.entries(channelPos).map(([channel, p]) => ({ channel, epoch: p.epoch, seq: p.seq }));
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
      if (ev.code === 4409) { channelPos = {}; saveView(); }
      const wait = Math.min(backoff, 10000) * (0.75 + Math.random() / 2);
      backoff = Math.min(backoff * 2, 10000);
      reconnectTimer = setTimeout(() => { if (me) connect(); }, wait);
    };
  }

  function onFrame(f) {
    switch (f.type) {
      case "welcome":
        setConn(true);
        backoff = 500;
        resyncState();
        break;
      case "reset":
        delete channelPos[f.channel];
        saveView();
        break;
      case "message":
        if (typeof f.channel !== "string" || typeof f.epoch !== "string" || !Number.isInteger(f.seq)) break;
        channelPos[f.channel] = { epoch: f.epoch, seq: f.seq };
        saveView();
        if (f.data && f.data.kind === "pop" && f.data.pop) onPop(f.data.pop);
        if (f.data && f.data.kind === "task_due" && f.data.task) onDue(f.data);
        if (f.data && f.data.kind === "agent_state" && f.data.agent && me) {
          if (f.data.agent.username === me.username) showState(f.data.agent);
          if (f.channel === "role:supervisor") { team.set(f.data.agent.username, f.data.agent); renderTeam(); }
        }
        break;
    }
  }

  // ---- pops --------------------------------------------------------------------

  const live = (p) => p.state !== "ended" && !(p.answered_by && me && p.answered_by !== me.username);
  // mine: the pop was sent to this agent, not only to supervisors watching.
  const mine = (p) => !Array.isArray(p.agents) || p.agents.length === 0 || (me && p.agents.includes(me.username));
  // busy: the agent is in a call of their own, whose card must stay put
  // (a note being written belongs to that caller).
  const busy = (p) => p && p.state !== "ended" && me && p.answered_by === me.username;
  const byStart = (a, b) => (Date.parse(b.call.started_at) || 0) - (Date.parse(a.call.started_at) || 0);

  function onPop(p) {
    if (!p || typeof p.id !== "string" || !p.call || !Number.isFinite(p.version)) return;
    const old = pops.get(p.id);
    if (old && old.version >= p.version) return;
    pops.set(p.id, p);
    if (!old) {
      // The pop carries the contacts' latest history: drop older copies.
      for (const m of p.matches || []) if (m && m.contact) details.delete(m.contact.id);
    }
    const fresh = Date.now() - Date.parse(p.updated_at) < 30000;
    if (!old && live(p) && mine(p)) {
      if (!busy(pops.get(currentId))) currentId = p.id;
      if (fresh) { ring(); notify(p); }
    } else if (currentId === null || !pops.has(currentId)) {
      currentId = p.id;
    }
    prunePops();
    if (p.id === currentId) render();
    renderRecent();
  }

  function prunePops() {
    if (pops.size <= MAX_POPS) return;
    const keep = [...pops.values()].sort(byStart).slice(0, MAX_POPS);
    const cur = pops.get(currentId);
    pops.clear();
    for (const p of keep) pops.set(p.id, p);
    if (cur) pops.set(cur.id, cur);
  }

  // onGesture does what browsers allow only in answer to the user: start
  // the audio and ask to show notifications.
  function onGesture() {
    unlockAudio();
    try {
      if (window.Notification && Notification.permission === "default") {
        const asked = Notification.requestPermission();
        if (asked && asked.catch) asked.catch(() => {});
      }
    } catch (_) { /* not supported */ }
  }

  function unlockAudio() {
    try {
      if (!audio && (window.AudioContext || window.webkitAudioContext)) {
        audio = new (window.AudioContext || window.webkitAudioContext)();
      }
      if (audio && audio.state === "suspended") audio.resume().catch(() => {});
    } catch (_) { audio = null; }
  }

  function ring() {
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

  function callerLabel(p) {
    const m = p.matches && p.matches.length === 1 && p.matches[0];
    const name = (m && m.contact.display_name) || p.call.caller_name;
    if (name) return name;
    if (p.call.class === "withheld") return t("withheld");
    return digits(p.call.national || p.call.number || "") || t("unknown_number");
  }

  // notify raises a desktop notification. Its title and body are plain
  // text whatever they contain.
  function notify(p) {
    try {
      if (!window.Notification || Notification.permission !== "granted") return;
      const body = [t("notify_title"), p.call.line, p.call.queue].filter(Boolean).join(" · ");
      const n = new Notification(String(callerLabel(p)), { body, tag: p.id });
      n.onclick = () => {
        window.focus();
        if (pops.has(p.id)) { currentId = p.id; render(); renderRecent(); }
        n.close();
      };
    } catch (_) { /* not supported */ }
  }

  function matchOf(p) {
    if (leads.has(p.id)) return leads.get(p.id);
    if (!p.matches || p.matches.length === 0) return null;
    return p.matches[chosen.get(p.id) || 0] || p.matches[0];
  }

  function stateText(p) {
    if (p.state === "ended") return t("pop_ended") + (p.call.cause ? " · " + p.call.cause : "");
    if (p.answered_by) return t("answered_by", { name: p.answered_by });
    return tOr("pop_" + p.state, p.state);
  }

  const joinList = (xs) => (xs || []).filter(Boolean).join(lang === "fa" ? "، " : ", ");

  // fact adds a labelled value. Values are isolated from the text around
  // them, so a Latin name or a number keeps its order on a Persian page.
  function fact(dl, key, value, ltr) {
    if (value === undefined || value === null || value === "") return null;
    const dd = el("dd", {}, el("bdi", { text: digits(value), dir: ltr ? "ltr" : "auto" }));
    dl.append(el("dt", { text: t(key) }), dd);
    return dd;
  }

  function render() {
    const p = currentId && pops.get(currentId);
    $("pop").hidden = !p;
    $("idle").hidden = !!p;
    panel.show(p, p && matchOf(p));
    if (!p) return;
    $("start-script").hidden = !p.script || !mine(p) || p.state === "ended" || panel.open(p.id) ||
      (!!p.answered_by && !!me && p.answered_by === me.username);
    const c = p.call;
    $("pop").dataset.state = p.state;
    $("pop-caller").textContent = c.caller_name || t("no_name");
    $("pop-number").textContent = c.class === "withheld" ? t("withheld") : digits(c.national || c.number || "");
    $("pop-e164").textContent = c.e164 && c.e164 !== c.national ? digits(c.e164) : "";
    $("pop-state").textContent = stateText(p);
    $("call-back").hidden = !callable(p);
    if ($("call-back").dataset.pop !== p.id) {
      $("call-back").dataset.pop = p.id;
      $("call-status").textContent = "";
    }

    const facts = $("pop-facts");
    clear(facts);
    fact(facts, "line", c.line);
    fact(facts, "dnis", c.dnis, true);
    fact(facts, "ivr_path", (c.ivr_path || []).join(" › ")); // mirrored by bidi where the names are RTL
    fact(facts, "ivr", c.digits, true);
    fact(facts, "queue", c.queue);
    const wait = waitText(c);
    if (wait) {
      const dd = fact(facts, "waiting_for", wait);
      if (dd && !c.answered_at && !c.ended_at) dd.id = "waiting-clock";
    }
    if (p.script) fact(facts, "script", p.script.title || p.script.id);
    renderLinks($("pop-links"), p.links);

    renderMatches(p);
    const m = matchOf(p);
    $("contact").hidden = !m;
    $("lead-form").hidden = !!m || c.class === "withheld";
    if (m) renderContact(p, m);
    else if (c.class !== "withheld") {
      const num = $("lead-number");
      if (num.dataset.pop !== p.id) {
        num.dataset.pop = p.id;
        num.value = c.e164 || c.number || "";
        $("lead-first").value = "";
        $("lead-last").value = "";
        $("lead-status").textContent = "";
      }
    }
  }

  // waitText is how long the caller has waited (in the queue, or since the
  // call came in when it was not queued), frozen once answered or ended.
  function waitText(c) {
    const from = Date.parse(c.queued_at || c.started_at);
    if (isNaN(from)) return "";
    const end = Date.parse(c.answered_at || c.ended_at);
    return fmtDuration((isNaN(end) ? Date.now() : end) - from);
  }

  function renderLinks(box, list) {
    clear(box);
    for (const l of list || []) {
      const href = l && safeURL(l.url);
      if (href) box.append(el("a", { href, target: "_blank", rel: "noopener noreferrer", text: l.label || href }));
    }
  }

  function renderMatches(p) {
    const box = $("matches");
    clear(box);
    if (leads.has(p.id) || !p.matches || p.matches.length < 2) return;
    box.append(el("p", { class: "hint", text: t("matches_n", { n: p.matches.length }) }));
    p.matches.forEach((m, i) => {
      const orgs = joinList((m.contact.organizations || []).map((o) => o.name));
      const b = el("button", {
        type: "button", class: "match" + ((chosen.get(p.id) || 0) === i ? " chosen" : ""),
        dataset: { testid: "match", index: String(i) },
        onclick: () => pick(i),
      },
      el("span", { class: "k", text: digits(String(i + 1)) }),
      el("span", { class: "n", text: m.contact.display_name, dir: "auto" }),
      orgs ? el("span", { class: "o", text: orgs, dir: "auto" }) : null,
      m.contact.status ? el("span", { class: "o", text: tOr("status_" + m.contact.status, m.contact.status) }) : null,
      el("span", { class: "h", text: tOr("how_" + m.how, m.how) }));
      box.append(b);
    });
  }

  function pick(i) {
    const p = currentId && pops.get(currentId);
    if (!p || !p.matches || i >= p.matches.length) return;
    chosen.set(p.id, i);
    render();
    renderRecent();
    // The pop carries history for the first few matches only.
    const m = p.matches[i];
    if (!details.has(m.contact.id)) loadDetails(m.contact.id);
  }

  async function loadDetails(id) {
    try {
      const [a, tk] = await Promise.all([
        api("GET", "/api/v1/contacts/" + id + "/activities"),
        api("GET", "/api/v1/contacts/" + id + "/tasks"),
      ]);
      details.set(id, { history: a.activities || [], tasks: tk.tasks || [] });
      render();
    } catch (_) { /* the pop's own copy stays */ }
  }

  function safeURL(u) {
    try {
      const x = new URL(u);
      return x.protocol === "https:" || x.protocol === "http:" ? x.href : null;
    } catch (_) { return null; }
  }

  function renderContact(p, m) {
    const ni = $("note-input");
    if (ni.dataset.pop !== p.id) {
      ni.dataset.pop = p.id;
      ni.value = noteDrafts.get(p.id) || "";
      $("note-status").textContent = "";
    }
    const c = m.contact;
    $("contact-name").textContent = c.display_name;
    const facts = $("contact-facts");
    clear(facts);
    fact(facts, "organization", joinList((c.organizations || []).map((o) => o.name)));
    fact(facts, "contact_status", c.status ? tOr("status_" + c.status, c.status) : "");
    fact(facts, "tags", joinList(c.tags));
    fact(facts, "owner", c.owner);
    fact(facts, "segment", m.segment || c.segment);
    if (m.how) fact(facts, "matched_on", tOr("how_" + m.how, m.how));
    renderLinks($("contact-links"), m.links);

    const d = details.get(c.id) || { history: m.history || [], tasks: m.tasks || [] };
    const tasks = $("contact-tasks");
    clear(tasks);
    if (d.tasks.length === 0) tasks.append(el("li", { class: "empty", text: t("no_tasks") }));
    for (const tk of d.tasks) {
      tasks.append(el("li", {}, el("span", { text: tk.title, dir: "auto" }), el("time", { text: " " + t("due", { date: fmtDate(tk.due_at) }) })));
    }
    const hist = $("contact-history");
    clear(hist);
    if (d.history.length === 0) hist.append(el("li", { class: "empty", text: t("no_history") }));
    for (const a of d.history) {
      let what = a.body || a.disposition || "";
      if (!what && a.kind === "call") {
        what = [a.outcome ? tOr("outcome_" + a.outcome, a.outcome) : "", a.queue,
          a.duration > 0 ? fmtDuration(a.duration / 1e6) : ""].filter(Boolean).join(" · ");
      }
      hist.append(el("li", { dataset: { kind: a.kind } },
        el("time", { text: fmtDate(a.at) }),
        el("span", { class: "kind", text: tOr("kind_" + a.kind, a.kind) }),
        a.agent ? el("span", { class: "agent", text: a.agent, dir: "auto" }) : null,
        el("span", { class: "body", text: what, dir: "auto" })));
    }
  }

  function renderRecent() {
    const list = $("recent");
    clear(list);
    const all = [...pops.values()].sort(byStart).slice(0, 20);
    for (const p of all) {
      list.append(el("li", {}, el("button", {
        type: "button", class: "recent-call" + (p.id === currentId ? " current" : ""), dataset: { state: p.state, testid: "recent-call" },
        onclick: () => { currentId = p.id; render(); renderRecent(); saveView(); },
      }, el("span", { text: callerLabel(p), dir: "auto" }), el("time", { text: fmtTime(p.call.started_at) }))));
    }
  }

  setInterval(() => {
    const p = currentId && pops.get(currentId);
    const clock = $("waiting-clock");
    if (p && clock) clock.textContent = waitText(p.call);
  }, 1000);

  // ---- follow-ups falling due ---------------------------------------------------

  function onDue(d) {
    if (!Number.isInteger(d.task.id) || due.has(d.task.id)) return;
    due.set(d.task.id, { task: d.task, contact: d.contact || {} });
    renderDue();
    saveView();
    ring();
    try {
      if (window.Notification && Notification.permission === "granted") {
        new Notification(String(d.task.title), { body: String((d.contact && d.contact.display_name) || ""), tag: "task-" + d.task.id });
      }
    } catch (_) { /* not supported */ }
  }

  function renderDue() {
    const list = $("due-tasks");
    clear(list);
    $("due-box").hidden = due.size === 0;
    for (const { task, contact } of due.values()) {
      const status = el("span", { role: "status", class: "hint" });
      list.append(el("li", { dataset: { testid: "due-task" } },
        el("span", { class: "n", text: task.title, dir: "auto" }),
        el("span", { class: "o", text: contact.display_name || "", dir: "auto" }),
        contact.number ? el("bdi", { dir: "ltr", text: digits(contact.number) }) : null,
        el("time", { text: fmtTime(task.due_at) }),
        el("div", { class: "row" },
          contact.number ? el("button", { type: "button", class: "call", text: t("call_back"), dataset: { testid: "due-call-back" },
            onclick: (ev) => busyWhile(ev.currentTarget, async () => {
              status.textContent = t("calling");
              try {
                await api("POST", "/api/v1/calls", { number: contact.number, contact_id: contact.id || 0 });
              } catch (e) {
                status.textContent = t(e.code === "no_pbx" ? "call_no_pbx" : e.code === "no_endpoint" ? "call_no_endpoint" : "call_failed");
              }
            }) }) : null,
          el("button", { type: "button", class: "link", text: t("done"), dataset: { testid: "due-done" },
            onclick: async () => {
              try { await api("POST", "/api/v1/tasks/" + task.id + "/done"); } catch (e) { if (e.status !== 404) return; }
              due.delete(task.id);
              renderDue();
              saveView();
            } }),
          status)));
    }
  }

  // ---- the team, for supervisors -----------------------------------------------

  const isSupervisor = () => me && (me.role === "supervisor" || me.role === "admin");

  async function loadTeam() {
    $("team-box").hidden = !isSupervisor();
    if (!isSupervisor()) return;
    try {
      const res = await api("GET", "/api/v1/agents");
      team.clear();
      for (const a of res.agents || []) team.set(a.username, a);
      renderTeam();
    } catch (_) { /* the live updates still arrive */ }
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

  // ---- actions -------------------------------------------------------------------

  // busyWhile disables a control until its request settles: a double click
  // must not save, create or dial twice.
  async function busyWhile(button, fn) {
    if (button.disabled) return;
    button.disabled = true;
    try { await fn(); } finally { button.disabled = false; }
  }

  // The note being written belongs to its call: kept per call (and across
  // reloads), so a new call never takes it.
  $("note-input").addEventListener("input", () => {
    const id = $("note-input").dataset.pop;
    if (id) { noteDrafts.set(id, $("note-input").value); saveView(); }
  });

  $("note-save").addEventListener("click", () => busyWhile($("note-save"), async () => {
    const p = currentId && pops.get(currentId);
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

  $("lead-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busyWhile($("lead-form").querySelector("[type=submit]"), createLead);
  });

  async function createLead() {
    const p = currentId && pops.get(currentId);
    if (!p || leads.has(p.id)) return;
    const body = {
      kind: "person", status: "lead",
      first_name: $("lead-first").value.trim(), last_name: $("lead-last").value.trim(),
      phones: [{ label: "mobile", number: $("lead-number").value.trim() }],
    };
    try {
      const c = await api("POST", "/api/v1/contacts", body);
      const contact = c.contact || c;
      leads.set(p.id, { how: "", contact: {
        id: contact.id, kind: contact.kind, status: contact.status, owner: contact.owner, tags: contact.tags,
        display_name: [contact.first_name, contact.last_name].filter(Boolean).join(" ") || contact.name || "",
      }, history: [], tasks: [] });
      $("lead-status").textContent = t("lead_created");
      render();
      renderRecent();
      saveView();
    } catch (_) {
      $("lead-status").textContent = t("lead_failed");
    }
  }

  $("timeline-open").addEventListener("click", () => {
    const p = currentId && pops.get(currentId);
    const m = p && matchOf(p);
    if (m) timeline.open(m.contact.id);
  });

  $("start-script").addEventListener("click", () => {
    const p = currentId && pops.get(currentId);
    if (!p) return;
    panel.start(p, matchOf(p));
    render();
  });

  const callable = (p) => p.call.class !== "withheld" && !!(p.call.e164 || p.call.number);

  $("call-back").addEventListener("click", () => busyWhile($("call-back"), async () => {
    const p = currentId && pops.get(currentId);
    if (!p || !callable(p)) return;
    const m = matchOf(p);
    $("call-status").textContent = t("calling");
    try {
      await api("POST", "/api/v1/calls", { number: p.call.e164 || p.call.number, contact_id: m ? m.contact.id : 0 });
    } catch (e) {
      $("call-status").textContent = t(e.code === "no_pbx" ? "call_no_pbx" : e.code === "no_endpoint" ? "call_no_endpoint" : "call_failed");
    }
  }));

  // ---- keyboard --------------------------------------------------------------

  const keys = [["n", "key_note"], ["l", "key_lead"], ["1–9", "key_pick"], ["c", "key_call"],
    ["a", "key_available"], ["b", "key_break"], ["w", "key_wrapup"], ["?", "key_help"], ["Esc", "key_close"]];

  function renderHelp() {
    const dl = $("help-list");
    clear(dl);
    for (const [k, label] of keys) dl.append(el("dt", {}, el("kbd", { text: k })), el("dd", { text: t(label) }));
  }

  $("help-close").addEventListener("click", () => { $("help").hidden = true; });

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { $("help").hidden = true; timeline.close(); if (document.activeElement) document.activeElement.blur(); return; }
    const tag = (ev.target && ev.target.tagName) || "";
    if (!me || ev.ctrlKey || ev.metaKey || ev.altKey || ["INPUT", "TEXTAREA", "SELECT"].includes(tag)) return;
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

  // ---- start -------------------------------------------------------------------

  applyLang();
  api("GET", "/api/v1/me")
    .then((res) => showConsole(res.user, res.state))
    .catch(() => showLogin(""));
}
