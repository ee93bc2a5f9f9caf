// The pop card: the call on screen, its caller, and the contact it is about.
import { $, el, clear } from "./dom.js";
import { app, pops, details } from "./state.js";
import { t, tOr, digits, fmtDate, fmtDuration, joinList } from "./text.js";
import { mine } from "./pops.js";
import { matchOf, renderMatches } from "./matches.js";
import { showLeadForm } from "./leads.js";
import { showNote } from "./notes.js";
import { callable } from "./calls.js";
import { panel } from "./panels.js";

function stateText(p) {
  if (p.state === "ended") return t("pop_ended") + (p.call.cause ? " · " + p.call.cause : "");
  if (p.answered_by) return t("answered_by", { name: p.answered_by });
  return tOr("pop_" + p.state, p.state);
}

// fact adds a labelled value. Values are isolated from the text around
// them, so a Latin name or a number keeps its order on a Persian page.
function fact(dl, key, value, ltr) {
  if (value === undefined || value === null || value === "") return null;
  const dd = el("dd", {}, el("bdi", { text: digits(value), dir: ltr ? "ltr" : "auto" }));
  dl.append(el("dt", { text: t(key) }), dd);
  return dd;
}

export function render() {
  const p = app.currentId && pops.get(app.currentId);
  $("pop").hidden = !p;
  $("idle").hidden = !!p;
  panel.show(p, p && matchOf(p));
  if (!p) return;
  $("start-script").hidden = !p.script || !mine(p) || p.state === "ended" || panel.open(p.id) ||
    (!!p.answered_by && !!app.me && p.answered_by === app.me.username);
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
  else if (c.class !== "withheld") showLeadForm(p);
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

function safeURL(u) {
  try {
    const x = new URL(u);
    return x.protocol === "https:" || x.protocol === "http:" ? x.href : null;
  } catch (_) { return null; }
}

function renderContact(p, m) {
  showNote(p);
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

setInterval(() => {
  const p = app.currentId && pops.get(app.currentId);
  const clock = $("waiting-clock");
  if (p && clock) clock.textContent = waitText(p.call);
}, 1000);
