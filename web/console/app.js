// The agent console. Everything the network or the CRM sends is put on the
// page with textContent: caller names and numbers are chosen by strangers.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const I18N = window.TamasI18n;

  let lang = localStorage.getItem("tamas.lang") === "fa" ? "fa" : "en";
  let me = null;
  let ws = null;
  let backoff = 500;
  let reconnectTimer = null;
  let audio = null;
  const pops = new Map(); // pop id → latest version
  const chosen = new Map(); // pop id → index of the match the agent picked
  const leads = new Map(); // pop id → contact created from an unknown caller
  const details = new Map(); // contact id → {history, tasks} fetched on demand
  let currentId = null;
  const team = new Map(); // username → state, for supervisors

  // ---- text, numbers and dates -------------------------------------------

  function t(key, vars) {
    let s = (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", String(v));
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
    const mm = String(Math.floor(s / 60)).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    return digits(mm + ":" + ss);
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
    $("lang-switch").textContent = lang === "fa" ? "English" : "فارسی";
    document.title = t("brand");
    renderHelp();
    setConn(document.body.dataset.conn === "up");
    render();
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
      throw e;
    }
    return data;
  }

  // ---- login -----------------------------------------------------------------

  function showLogin(message) {
    me = null;
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    clearTimeout(reconnectTimer);
    document.body.dataset.view = "login";
    $("login-error").textContent = message || "";
    $("login-form").querySelector("input").focus();
  }

  async function showConsole(user, state) {
    me = user;
    const last = sessionStorage.getItem("tamas.user");
    if (last !== user.username) {
      channelPos = {};
      pops.clear();
    }
    sessionStorage.setItem("tamas.user", user.username);
    document.body.dataset.view = "console";
    $("who").textContent = user.display_name || user.username;
    if (!state || state.state === "offline") {
      state = await setState("available", "").catch(() => state);
    }
    showState(state);
    loadTeam();
    connect();
  }

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    unlockAudio();
    if (window.Notification && Notification.permission === "default") {
      try { Notification.requestPermission(); } catch (_) { /* not supported */ }
    }
    const f = ev.target;
    try {
      const res = await api("POST", "/api/v1/session", { username: f.username.value, password: f.password.value });
      f.password.value = "";
      if (res.user.lang === "fa" || res.user.lang === "en") {
        lang = res.user.lang;
        localStorage.setItem("tamas.lang", lang);
        applyLang();
      }
      await showConsole(res.user, null);
    } catch (e) {
      $("login-error").textContent = t(e.code === "rate_limited" ? "rate_limited" : e.status === 401 ? "bad_credentials" : "login_failed");
    }
  });

  $("logout").addEventListener("click", async () => {
    try { await api("DELETE", "/api/v1/session"); } catch (_) { /* already gone */ }
    channelPos = {};
    showLogin("");
  });

  $("lang-switch").addEventListener("click", () => {
    lang = lang === "fa" ? "en" : "fa";
    localStorage.setItem("tamas.lang", lang);
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

  $("status-select").addEventListener("change", (ev) => chooseState(ev.target.value));
  $("break-reason").addEventListener("change", () => chooseState("break"));

  // ---- websocket -------------------------------------------------------------

  // Positions are kept per page: a reconnect resumes where the page left
  // off, while a reload starts afresh and gets the recent calls replayed.
  let channelPos = {};
  function positions() { return channelPos; }

  function savePosition(channel, epoch, seq) {
    channelPos[channel] = { epoch, seq };
  }

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
      const resume = Object.entries(positions()).map(([channel, p]) => ({ channel, epoch: p.epoch, seq: p.seq }));
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
      if (ev.code === 4409) channelPos = {};
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
        break;
      case "reset":
        delete channelPos[f.channel];
        break;
      case "message":
        savePosition(f.channel, f.epoch, f.seq);
        if (f.data && f.data.kind === "pop" && f.data.pop) onPop(f.data.pop);
        if (f.data && f.data.kind === "agent_state" && f.data.agent && me) {
          if (f.data.agent.username === me.username) showState(f.data.agent);
          if (f.channel === "role:supervisor") { team.set(f.data.agent.username, f.data.agent); renderTeam(); }
        }
        break;
    }
  }

  // ---- pops --------------------------------------------------------------------

  const live = (p) => p.state !== "ended" && !(p.answered_by && me && p.answered_by !== me.username);

  function onPop(p) {
    const old = pops.get(p.id);
    if (old && old.version >= p.version) return;
    pops.set(p.id, p);
    const fresh = Date.now() - Date.parse(p.updated_at) < 30000;
    if (!old && live(p)) {
      currentId = p.id;
      if (fresh) { ring(); notify(p); }
    } else if (currentId === null) {
      currentId = p.id;
    }
    if (p.id === currentId) render();
    renderRecent();
  }

  function unlockAudio() {
    try {
      if (!audio && (window.AudioContext || window.webkitAudioContext)) {
        audio = new (window.AudioContext || window.webkitAudioContext)();
      }
    } catch (_) { audio = null; }
  }

  function ring() {
    try {
      if (!audio) return;
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

  function notify(p) {
    try {
      if (!window.Notification || Notification.permission !== "granted") return;
      const m = p.matches && p.matches[0];
      const body = (m && m.contact.display_name) || p.call.caller_name || p.call.national || p.call.number || t("unknown_number");
      new Notification(t("notify_title"), { body: String(body), tag: p.id });
    } catch (_) { /* not supported */ }
  }

  function matchOf(p) {
    if (leads.has(p.id)) return leads.get(p.id);
    if (!p.matches || p.matches.length === 0) return null;
    return p.matches[chosen.get(p.id) || 0] || p.matches[0];
  }

  function stateText(p) {
    let s = t("pop_" + p.state);
    if (p.answered_by) s = t("answered_by", { name: p.answered_by });
    if (p.state === "ended" && p.call.cause) s += " · " + p.call.cause;
    return s;
  }

  function fact(dl, key, value, ltr) {
    if (value === undefined || value === null || value === "") return null;
    const dd = el("dd", { text: typeof value === "string" ? digits(value) : "", dir: ltr ? "ltr" : null });
    if (typeof value !== "string") dd.append(value);
    dl.append(el("dt", { text: t(key) }), dd);
    return dd;
  }

  function render() {
    const p = currentId && pops.get(currentId);
    $("pop").hidden = !p;
    $("idle").hidden = !!p;
    if (!p) return;
    const c = p.call;
    $("pop").dataset.state = p.state;
    $("pop-caller").textContent = c.caller_name || t("no_name");
    $("pop-number").textContent = c.class === "withheld" ? t("withheld") : digits(c.national || c.number || "");
    $("pop-e164").textContent = c.e164 && c.e164 !== c.national ? digits(c.e164) : "";
    $("pop-state").textContent = stateText(p);

    const facts = $("pop-facts");
    clear(facts);
    fact(facts, "line", c.line);
    fact(facts, "dnis", c.dnis, true);
    fact(facts, "ivr", c.digits || (c.ivr_path || []).join(" › "), true);
    fact(facts, "queue", c.queue);
    if (c.queued_at && p.state === "queued") {
      const dd = fact(facts, "waiting_for", fmtDuration(Date.now() - Date.parse(c.queued_at)));
      if (dd) dd.id = "waiting-clock";
    }
    if (p.script) fact(facts, "script", p.script.title || p.script.id);

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

  function renderMatches(p) {
    const box = $("matches");
    clear(box);
    if (leads.has(p.id) || !p.matches || p.matches.length < 2) return;
    box.append(el("p", { class: "hint", text: t("matches_n", { n: p.matches.length }) }));
    p.matches.forEach((m, i) => {
      const orgs = (m.contact.organizations || []).map((o) => o.name).filter(Boolean).join("، ");
      const b = el("button", {
        type: "button", class: "match" + ((chosen.get(p.id) || 0) === i ? " chosen" : ""),
        dataset: { testid: "match", index: String(i) },
        onclick: () => pick(i),
      },
      el("span", { class: "k", text: digits(String(i + 1)) }),
      el("span", { class: "n", text: m.contact.display_name }),
      orgs ? el("span", { class: "o", text: orgs }) : null,
      el("span", { class: "h", text: t("how_" + m.how) }));
      b.setAttribute("data-testid", "match");
      box.append(b);
    });
  }

  function pick(i) {
    const p = currentId && pops.get(currentId);
    if (!p || !p.matches || i >= p.matches.length) return;
    chosen.set(p.id, i);
    render();
    const m = p.matches[i];
    if (!details.has(m.contact.id) && i >= 3) loadDetails(m.contact.id);
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
    const c = m.contact;
    $("contact-name").textContent = c.display_name;
    const facts = $("contact-facts");
    clear(facts);
    fact(facts, "organization", (c.organizations || []).map((o) => o.name).filter(Boolean).join("، "));
    fact(facts, "contact_status", c.status ? t("status_" + c.status) : "");
    fact(facts, "tags", (c.tags || []).join("، "));
    fact(facts, "owner", c.owner);
    fact(facts, "segment", m.segment);
    if (m.how) fact(facts, "matched_on", t("how_" + m.how));

    const links = $("contact-links");
    clear(links);
    for (const l of m.links || []) {
      const href = safeURL(l.url);
      if (href) links.append(el("a", { href, target: "_blank", rel: "noopener noreferrer", text: l.label }));
    }

    const d = details.get(c.id) || { history: m.history || [], tasks: m.tasks || [] };
    const tasks = $("contact-tasks");
    clear(tasks);
    if (d.tasks.length === 0) tasks.append(el("li", { class: "empty", text: t("no_tasks") }));
    for (const tk of d.tasks) {
      tasks.append(el("li", {}, el("span", { text: tk.title }), el("time", { text: " " + t("due", { date: fmtDate(tk.due_at) }) })));
    }
    const hist = $("contact-history");
    clear(hist);
    if (d.history.length === 0) hist.append(el("li", { class: "empty", text: t("no_history") }));
    for (const a of d.history) {
      const what = a.body || a.subject || a.disposition || "";
      hist.append(el("li", { dataset: { kind: a.kind } },
        el("time", { text: fmtDate(a.at) }),
        el("span", { class: "kind", text: t("kind_" + a.kind) }),
        a.agent ? el("span", { class: "agent", text: a.agent }) : null,
        el("span", { class: "body", text: what })));
    }
  }

  function renderRecent() {
    const list = $("recent");
    clear(list);
    const all = [...pops.values()].sort((a, b) => Date.parse(b.call.started_at) - Date.parse(a.call.started_at)).slice(0, 20);
    for (const p of all) {
      const m = p.matches && p.matches[0];
      const who = (m && m.contact.display_name) || p.call.caller_name || p.call.national || p.call.number || t("unknown_number");
      list.append(el("li", {}, el("button", {
        type: "button", class: "recent-call" + (p.id === currentId ? " current" : ""), dataset: { state: p.state },
        onclick: () => { currentId = p.id; render(); renderRecent(); },
      }, el("span", { text: who }), el("time", { text: fmtTime(p.call.started_at) }))));
    }
  }

  setInterval(() => {
    const p = currentId && pops.get(currentId);
    const clock = $("waiting-clock");
    if (p && clock && p.call.queued_at) clock.textContent = fmtDuration(Date.now() - Date.parse(p.call.queued_at));
  }, 1000);

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
      const label = t("state_" + a.state) + (a.reason ? " · " + t("reason_" + a.reason) : "");
      list.append(el("li", { dataset: { state: a.state } },
        el("span", { class: "n", text: a.username }),
        el("span", { class: "s", text: label }),
        el("time", { text: fmtTime(a.since) })));
    }
  }

  // ---- actions -------------------------------------------------------------------

  $("note-save").addEventListener("click", async () => {
    const p = currentId && pops.get(currentId);
    const m = p && matchOf(p);
    const body = $("note-input").value.trim();
    if (!m) return;
    if (!body) { $("note-status").textContent = t("note_empty"); return; }
    try {
      await api("POST", "/api/v1/contacts/" + m.contact.id + "/notes", { body, call_id: p.id });
      $("note-input").value = "";
      $("note-status").textContent = t("note_saved");
      await loadDetails(m.contact.id);
    } catch (_) {
      $("note-status").textContent = t("note_failed");
    }
  });

  $("lead-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const p = currentId && pops.get(currentId);
    if (!p) return;
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
    } catch (_) {
      $("lead-status").textContent = t("lead_failed");
    }
  });

  $("call-back").addEventListener("click", async () => {
    const p = currentId && pops.get(currentId);
    if (!p) return;
    const m = matchOf(p);
    $("call-status").textContent = t("calling");
    try {
      await api("POST", "/api/v1/calls", { number: p.call.e164 || p.call.number, contact_id: m ? m.contact.id : 0 });
    } catch (_) {
      $("call-status").textContent = t("call_failed");
    }
  });

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
    if (ev.key === "Escape") { $("help").hidden = true; if (document.activeElement) document.activeElement.blur(); return; }
    const tag = (ev.target && ev.target.tagName) || "";
    if (!me || ev.ctrlKey || ev.metaKey || ev.altKey || ["INPUT", "TEXTAREA", "SELECT"].includes(tag)) return;
    unlockAudio();
    const k = ev.key;
    if (k === "?") $("help").hidden = !$("help").hidden;
    else if (k === "n" && !$("contact").hidden) { ev.preventDefault(); $("note-input").focus(); }
    else if (k === "l" && !$("lead-form").hidden) { ev.preventDefault(); $("lead-first").focus(); }
    else if (k === "c" && !$("contact").hidden) $("call-back").click();
    else if (k === "a") { $("status-select").value = "available"; chooseState("available"); }
    else if (k === "b") { $("status-select").value = "break"; chooseState("break"); }
    else if (k === "w") { $("status-select").value = "wrapup"; chooseState("wrapup"); }
    else if (/^[1-9]$/.test(k)) pick(Number(k) - 1);
  });
  document.addEventListener("click", unlockAudio, { once: true });

  // ---- start -------------------------------------------------------------------

  applyLang();
  api("GET", "/api/v1/me")
    .then((res) => showConsole(res.user, res.state))
    .catch(() => showLogin(""));
})();
