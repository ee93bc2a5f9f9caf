// The wrap-up panel: the call script step by step, then the summary,
// disposition, notes and follow-ups. Every answer goes to the server as it
// is given, so a reload or a crashed browser resumes where the agent was.
// Like the rest of the console, it puts text on the page only as text.
import { Jalali as J } from "./jalali.js";

export const wrapUpPanel = (h) => {
  const { api, t, tOr, digits, el, clear, fmtDate } = h;
  const box = document.getElementById("wrapup");
  const states = new Map(); // call id → the server's last answer
  const followUps = new Map(); // call id → follow-up rows being edited
  const notesDraft = new Map(); // call id → notes typed, saved or not yet
  const failed = new Map(); // call id → the pop version the server refused to open at
  // Calls the agent started the script of by hand, kept across reloads.
  const STARTED_KEY = "tamas.wrapups";
  const started = new Set((() => {
    try {
      const v = JSON.parse(sessionStorage.getItem(STARTED_KEY) || "[]");
      return Array.isArray(v) ? v.filter((x) => typeof x === "string").slice(-50) : [];
    } catch (_) { return []; }
  })());
  const keepStarted = () => {
    try { sessionStorage.setItem(STARTED_KEY, JSON.stringify([...started].slice(-50))); } catch (_) { /* not kept */ }
  };
  let callId = null;
  let pop = null;
  const typing = new Map(); // call id → {timer, fn}: an answer being typed, saved when the agent pauses
  const notesTimers = new Map(); // call id → timer of the notes' autosave
  const chosenDisposition = new Map(); // call id → the disposition picked, kept across redraws

  const lang = () => h.lang();

  // ---- dates -----------------------------------------------------------------

  const pad = (n) => String(n).padStart(2, "0");
  // localDate reads the day of a date answer (stored as midnight UTC) as
  // that day here, wherever here is.
  const localDate = (iso) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ""));
    return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
  };
  const fmtDay = (d) => new Intl.DateTimeFormat(lang() === "fa" ? "fa-IR-u-ca-persian-nu-arabext" : "en-GB",
    { dateStyle: "medium" }).format(d);
  const isoDate = (d) => d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());

  // datePicker picks a day (and a time when withTime): Persian months and
  // years on a Persian console, the browser's own picker otherwise.
  function datePicker(initial, withTime, onChange) {
    const wrap = el("span", { class: "date-picker", dataset: { testid: "date-picker" } });
    let time = null;
    if (withTime) {
      time = el("input", { type: "time", dir: "ltr", dataset: { testid: "date-time" } });
      time.value = initial ? pad(initial.getHours()) + ":" + pad(initial.getMinutes()) : "10:00";
      time.addEventListener("change", () => onChange && onChange());
    }
    let read;
    if (lang() === "fa") {
      const now = new Date();
      // An unanswered date question starts empty: Next must not answer it
      // with today.
      const blank = !initial && !withTime;
      const base = initial || now;
      const j = J.toJalali(base.getFullYear(), base.getMonth() + 1, base.getDate());
      const cur = J.toJalali(now.getFullYear(), now.getMonth() + 1, now.getDate());
      const none = () => el("option", { value: "", text: "—" });
      const year = el("select", { dataset: { testid: "jalali-year" }, "aria-label": t("year") });
      if (blank) year.append(none());
      for (let y = Math.min(cur.jy - 1, j.jy); y <= Math.max(cur.jy + 2, j.jy); y++) {
        year.append(el("option", { value: String(y), text: digits(y) }));
      }
      const month = el("select", { dataset: { testid: "jalali-month" }, "aria-label": t("month") });
      if (blank) month.append(none());
      J.months.forEach((name, i) => month.append(el("option", { value: String(i + 1), text: name })));
      const day = el("select", { dataset: { testid: "jalali-day" }, "aria-label": t("day") });
      const fillDays = () => {
        const keep = day.value;
        clear(day);
        if (blank) day.append(none());
        const n = year.value && month.value ? J.monthLength(Number(year.value), Number(month.value)) : 31;
        for (let d = 1; d <= n; d++) day.append(el("option", { value: String(d), text: digits(d) }));
        day.value = keep === "" ? "" : String(Math.min(Number(keep), n));
      };
      year.value = blank ? "" : String(j.jy);
      month.value = blank ? "" : String(j.jm);
      day.append(el("option", { value: blank ? "" : String(j.jd) }));
      day.value = blank ? "" : String(j.jd);
      fillDays();
      for (const s of [year, month]) s.addEventListener("change", () => { fillDays(); onChange && onChange(); });
      day.addEventListener("change", () => onChange && onChange());
      wrap.append(day, month, year);
      read = () => {
        if (!year.value || !month.value || !day.value) return null;
        const g = J.toGregorian(Number(year.value), Number(month.value), Number(day.value));
        return new Date(g.gy, g.gm - 1, g.gd);
      };
    } else {
      const input = el("input", { type: "date", dir: "ltr", dataset: { testid: "date-input" } });
      if (initial) input.value = isoDate(initial);
      input.addEventListener("change", () => onChange && onChange());
      wrap.append(input);
      read = () => {
        const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(input.value);
        return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
      };
    }
    if (time) wrap.append(time);
    return {
      node: wrap,
      value() {
        const d = read();
        if (!d || isNaN(d)) return null;
        if (time) {
          const m = /^(\d{1,2}):(\d{2})/.exec(time.value || "");
          if (m) d.setHours(Number(m[1]), Number(m[2]), 0, 0);
        }
        return d;
      },
    };
  }

  // ---- showing a call --------------------------------------------------------

  // show is called whenever the console draws a pop: the panel belongs to
  // the agent's own answered calls.
  function show(p, match) {
    const me = h.me();
    // A call forked to Tamas by SIP says nothing of who answered: the
    // agent starts its script by hand.
    const ours = p && me && (p.answered_by === me.username || started.has(p.id));
    box.hidden = !ours;
    if (!ours) {
      if (callId) { flushTyping(callId); flushNotes(callId); }
      callId = null; pop = null; return;
    }
    const contactId = match && match.contact ? match.contact.id : 0;
    const changed = callId !== p.id;
    if (changed && callId) { flushTyping(callId); flushNotes(callId); }
    pop = p;
    callId = p.id;
    const st = states.get(p.id);
    if (changed) draw();
    else tick();
    if (failed.get(p.id) === p.version) return; // a later version (answered, say) tries again
    if (!st || (contactId && !st.wrapup.done_at && st.wrapup.contact_id !== contactId)) open(p, contactId);
  }

  const opening = new Set(); // call ids with an open request in flight

  async function open(p, contactId) {
    if (opening.has(p.id)) return;
    opening.add(p.id);
    try { await openNow(p, contactId); } finally { opening.delete(p.id); }
  }

  async function openNow(p, contactId) {
    const body = { call_id: p.id, contact_id: contactId || 0, script: (p.script && p.script.id) || "",
      line: p.call.line || "", queue: p.call.queue || "" };
    const started = p.call.answered_at || p.call.started_at;
    if (started && !isNaN(Date.parse(started))) body.started_at = started;
    try {
      const st = await api("POST", "/api/v1/wrapups", body);
      states.set(p.id, st);
      failed.delete(p.id);
      if (callId === p.id) draw();
    } catch (e) {
      failed.set(p.id, p.version);
      if (callId === p.id) {
        clear(box);
        box.append(el("p", { class: "error", role: "alert", text: t("wrapup_unavailable") }),
          el("button", { type: "button", class: "link", text: t("try_again"), dataset: { testid: "wrapup-retry" },
            onclick: () => { failed.delete(p.id); open(pop || p, contactId); } }));
      }
    }
  }

  // refresh re-reads the run, for the cues the call's clock brings.
  async function refresh() {
    if (!callId || !states.has(callId) || states.get(callId).wrapup.done_at) return;
    const id = callId;
    try {
      const st = await api("POST", "/api/v1/wrapups", { call_id: id });
      states.set(id, st);
      if (callId === id) drawCues();
    } catch (_) { /* the next refresh tries again */ }
  }
  setInterval(refresh, 30000);

  // ---- drawing -----------------------------------------------------------------

  function labelOf(step, opt) {
    if (step.type === "yesno") return t(opt === "yes" ? "yes" : "no");
    return (step.labels && step.labels[opt]) || opt;
  }

  function answerText(step, v) {
    if (!v) return "";
    if (v.choices) return v.choices.map((c) => labelOf(step, c)).join(lang() === "fa" ? "، " : ", ");
    if (v.number !== undefined && v.number !== null) return digits(v.number);
    if (v.date) {
      const d = localDate(v.date);
      return d ? fmtDay(d) : "";
    }
    return v.text || "";
  }

  function dispositionLabel(st, code) {
    const d = (st.dispositions || []).find((x) => x.code === code);
    return (d && d.labels && d.labels[lang()]) || code;
  }

  function draw() {
    clear(box);
    const st = states.get(callId);
    const head = el("header", { class: "wrapup-head" },
      el("h2", { text: st && st.run ? st.run.title : t("wrapup"), dir: "auto" }),
      el("span", { class: "score", id: "wrapup-score", dataset: { testid: "script-score" } }),
      el("span", { class: "timer", id: "wrapup-timer", dataset: { testid: "wrapup-timer" } }),
      el("span", { class: "saved", id: "wrapup-saved", role: "status", dataset: { testid: "autosave-status" } }));
    box.append(head);
    if (!st) { box.append(el("p", { class: "hint", text: t("loading") })); return; }
    const w = st.wrapup;
    if (w.done_at) {
      box.append(el("p", { class: "done", dataset: { testid: "wrapup-done" },
        text: t(st.pending ? "wrapup_pending" : "wrapup_saved", { disposition: dispositionLabel(st, w.disposition) }) }));
      tick();
      return;
    }
    const run = st.run;
    if (run) {
      box.append(el("ul", { class: "cues", id: "wrapup-cues", "aria-live": "polite" }));
      drawCues();
      const steps = run.steps;
      const done = el("ol", { class: "steps-done" });
      for (const s of steps.slice(0, -1)) {
        if (s.kind !== "question") continue;
        done.append(el("li", {}, el("span", { class: "q", text: s.text, dir: "auto" }),
          el("span", { class: "a", text: answerText(s, run.answers[s.id]), dir: "auto" })));
      }
      if (done.childElementCount) box.append(done);
      const cur = steps[steps.length - 1];
      box.append(run.ended ? summary(st, steps) : stepView(run, cur));
    }
    if (!run || run.ended) box.append(finishForm(st));
    tick();
  }

  function drawCues() {
    const st = states.get(callId);
    const list = document.getElementById("wrapup-cues");
    if (!st || !st.run || !list) return;
    clear(list);
    for (const c of st.run.cues || []) list.append(el("li", { text: c, dir: "auto", dataset: { testid: "cue" } }));
    const score = document.getElementById("wrapup-score");
    if (score) score.textContent = t("score", { n: st.run.score });
  }

  function stepView(run, step) {
    const sec = el("section", { class: "step", dataset: { testid: "script-step", step: step.id, kind: step.kind } });
    sec.append(el("p", { class: step.kind === "say" ? "say" : "question", text: step.text, dir: "auto",
      dataset: { testid: "step-text" } }));
    const err = el("p", { class: "error", role: "alert", dataset: { testid: "step-error" } });
    let read = () => undefined;
    if (step.kind === "question") {
      read = questionInput(sec, step, run.answers[step.id], err);
      if (step.required) sec.append(el("p", { class: "hint", text: t("required") }));
    }
    const back = el("button", { type: "button", class: "link", text: t("back"), dataset: { testid: "script-back" },
      disabled: run.steps.length < 2 ? true : null, onclick: () => move(step.id, undefined, "back", err) });
    const next = el("button", { type: "button", text: t("next"), dataset: { testid: "script-next" },
      onclick: () => move(step.id, read(), "next", err) });
    sec.append(err, el("div", { class: "row" }, back, next));
    return sec;
  }

  // questionInput draws the input for a question and returns a reader of
  // the answer as the server takes it (a list of strings).
  function questionInput(sec, step, value, err) {
    const name = "q-" + step.id;
    const id = callId; // answers belong to the call they were typed for, whatever is shown later
    const save = (answer) => move(step.id, answer, "stay", err, id);
    const later = (fn) => typeLater(id, fn);
    const have = value || {};
    switch (step.type) {
      case "single":
      case "yesno":
      case "multi": {
        const multi = step.type === "multi";
        const group = el("div", { class: "choices", role: multi ? "group" : "radiogroup" });
        for (const opt of step.options || []) {
          const input = el("input", { type: multi ? "checkbox" : "radio", name, value: opt,
            dataset: { testid: "choice-" + opt } });
          input.checked = (have.choices || []).includes(opt);
          input.addEventListener("change", () => save(read()));
          group.append(el("label", {}, input, el("span", { text: labelOf(step, opt), dir: "auto" })));
        }
        sec.append(group);
        const read = () => [...group.querySelectorAll("input:checked")].map((i) => i.value);
        return () => { const a = read(); return a.length ? a : undefined; };
      }
      case "number": {
        const input = el("input", { type: "number", dir: "ltr", dataset: { testid: "answer" },
          min: step.min !== undefined ? String(step.min) : null, max: step.max !== undefined ? String(step.max) : null });
        if (have.number !== undefined && have.number !== null) input.value = String(have.number);
        input.addEventListener("input", () => later(() => save([input.value])));
        sec.append(input);
        return () => (input.value.trim() ? [input.value.trim()] : undefined);
      }
      case "date": {
        const picker = datePicker(have.date ? localDate(have.date) : null, false, () => {
          const d = picker.value();
          if (d) save([isoDate(d)]);
        });
        sec.append(picker.node);
        return () => { const d = picker.value(); return d ? [isoDate(d)] : undefined; };
      }
      default: {
        const input = el("textarea", { rows: "3", dir: "auto", dataset: { testid: "answer" } });
        input.value = have.text || "";
        input.addEventListener("input", () => later(() => save([input.value])));
        sec.append(input);
        return () => (input.value.trim() ? [input.value] : undefined);
      }
    }
  }

  // typeLater coalesces a call's saves while the agent types.
  function typeLater(id, fn) {
    const p = typing.get(id);
    if (p) clearTimeout(p.timer);
    typing.set(id, { fn, timer: setTimeout(() => { typing.delete(id); fn(); }, 500) });
  }

  function saveNotesOf(id, text) {
    return api("PUT", "/api/v1/wrapups/" + encodeURIComponent(id) + "/notes", { notes: text })
      .then(() => { const s = states.get(id); if (s) s.wrapup.notes = text; if (callId === id) setSaved("saved"); })
      .catch(() => { if (callId === id) setSaved(""); });
  }

  // flushNotes saves at once the notes typed for a call.
  function flushNotes(id) {
    const timer = notesTimers.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    notesTimers.delete(id);
    saveNotesOf(id, notesDraft.get(id));
  }

  // flushTyping saves at once what the agent was typing for a call.
  function flushTyping(id) {
    const p = typing.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    typing.delete(id);
    p.fn();
  }

  async function move(from, answer, go, err, forCall) {
    const id = forCall || callId;
    if (!id) return;
    if (go !== "stay") {
      const p = typing.get(id);
      if (p) { clearTimeout(p.timer); typing.delete(id); } // this move carries the answer
    }
    const body = { from, go };
    if (answer !== undefined) body.answer = answer;
    setSaved("saving");
    try {
      const st = await api("POST", "/api/v1/wrapups/" + encodeURIComponent(id) + "/step", body);
      states.set(id, st);
      setSaved(st.unsaved ? "kept_here" : "saved");
      if (callId !== id) return;
      if (go === "stay") drawCues();
      else draw();
    } catch (e) {
      setSaved("");
      if (e.status === 409) { await refresh(); draw(); return; }
      if (err) err.textContent = e.field === "answer" ? t("answer_invalid", { why: e.message }) :
        e.field === "step" ? t("answer_needed") : t("save_failed");
    }
  }

  function setSaved(what) {
    const n = document.getElementById("wrapup-saved");
    if (n) n.textContent = what ? t(what) : "";
  }

  function summary(st, steps) {
    const run = st.run;
    const dl = el("dl", { class: "facts wide" });
    for (const s of steps) {
      if (s.kind !== "question") continue;
      dl.append(el("dt", { text: s.text, dir: "auto" }), el("dd", {}, el("bdi", { text: answerText(s, run.answers[s.id]), dir: "auto" })));
    }
    const out = steps[steps.length - 1].outcome;
    return el("section", { class: "summary", dataset: { testid: "script-summary" } },
      el("h3", { text: t("summary") }), dl,
      el("p", { text: t("score", { n: run.score }) }),
      out ? el("p", { text: t("outcome", { d: dispositionLabel(st, out.disposition) }) }) : null,
      el("button", { type: "button", class: "link", text: t("back"), dataset: { testid: "script-back" },
        onclick: () => move(steps[steps.length - 1].id, undefined, "back", null) }));
  }

  function finishForm(st) {
    const w = st.wrapup;
    const out = st.run && st.run.ended ? st.run.steps[st.run.steps.length - 1].outcome : null;
    const form = el("form", { class: "finish", dataset: { testid: "finish-form" } });
    const disp = el("select", { dataset: { testid: "disposition" }, required: true });
    disp.append(el("option", { value: "", text: t("choose") }));
    for (const d of st.dispositions || []) disp.append(el("option", { value: d.code, text: dispositionLabel(st, d.code) }));
    disp.value = chosenDisposition.get(callId) || w.disposition || (out && out.disposition) || "";
    disp.addEventListener("change", () => chosenDisposition.set(callId, disp.value));
    const notes = el("textarea", { rows: "3", dir: "auto", maxlength: "65536", dataset: { testid: "wrapup-notes" } });
    notes.value = notesDraft.has(callId) ? notesDraft.get(callId) : w.notes || "";
    const saveNotes = saveNotesOf;
    notes.addEventListener("input", () => {
      const id = callId;
      clearTimeout(notesTimers.get(id));
      notesDraft.set(id, notes.value);
      notesTimers.set(id, setTimeout(() => { notesTimers.delete(id); saveNotes(id, notesDraft.get(id)); }, 600));
    });
    if (!followUps.has(callId)) {
      const now = Date.now();
      followUps.set(callId, ((out && out.tasks) || []).map((tk) => ({ title: tk.title, due: new Date(now + tk.due_seconds * 1000),
        assignee: h.me().username })));
    }
    const rows = followUps.get(callId);
    const list = el("ul", { class: "follow-ups" });
    const pickers = [];
    const drawRows = () => {
      clear(list);
      pickers.length = 0;
      rows.forEach((r, i) => {
        const title = el("input", { dir: "auto", dataset: { testid: "follow-up-title" }, "aria-label": t("follow_up_title") });
        title.value = r.title;
        title.addEventListener("input", () => { r.title = title.value; });
        const who = el("input", { dir: "ltr", class: "who", dataset: { testid: "follow-up-assignee" }, "aria-label": t("assignee") });
        who.value = r.assignee;
        who.addEventListener("input", () => { r.assignee = who.value; });
        const picker = datePicker(r.due, true, () => { r.due = picker.value() || r.due; });
        pickers.push(picker);
        list.append(el("li", { dataset: { testid: "follow-up" } }, title, picker.node, who,
          el("button", { type: "button", class: "link", text: t("remove"), onclick: () => { rows.splice(i, 1); drawRows(); } })));
      });
    };
    drawRows();
    const add = el("button", { type: "button", class: "link", text: t("add_follow_up"), dataset: { testid: "add-follow-up" },
      onclick: () => {
        rows.push({ title: t("call_back"), due: new Date(Date.now() + 86400000), assignee: h.me().username });
        drawRows();
      } });
    const err = el("p", { class: "error", role: "alert", dataset: { testid: "finish-error" } });
    const submit = el("button", { type: "submit", text: t("finish"), dataset: { testid: "wrapup-finish" } });
    form.append(el("label", {}, el("span", { text: t("disposition") }), disp),
      el("label", {}, el("span", { text: t("notes") }), notes),
      el("h3", { text: t("follow_ups") }), list, add, err, submit);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!disp.value) { err.textContent = t("pick_disposition"); return; }
      const tasks = [];
      for (let i = 0; i < rows.length; i++) {
        const due = pickers[i].value() || rows[i].due;
        if (!rows[i].title.trim()) continue;
        tasks.push({ title: rows[i].title.trim(), due_at: due.toISOString(), assignee: rows[i].assignee.trim() });
      }
      const id = callId;
      submit.disabled = true;
      try {
        clearTimeout(notesTimers.get(id));
        notesTimers.delete(id);
        const res = await api("POST", "/api/v1/wrapups/" + encodeURIComponent(id) + "/finish", { disposition: disp.value, notes: notes.value, tasks });
        const st2 = states.get(id);
        st2.wrapup = res.wrapup;
        st2.pending = !!res.pending;
        followUps.delete(id);
        notesDraft.delete(id);
        chosenDisposition.delete(id);
        if (callId === id) draw();
        if (h.finished) h.finished(res.wrapup);
      } catch (e) {
        submit.disabled = false;
        saveNotes(id, notes.value); // kept, though the finish was refused
        err.textContent = e.field === "tasks" && /contact/.test(e.message || "") ? t("follow_up_needs_contact") :
          e.message || t("save_failed");
      }
    });
    return form;
  }

  // tick shows the wrap-up time left once the call has ended.
  function tick() {
    const n = document.getElementById("wrapup-timer");
    const st = states.get(callId);
    if (!n || !pop) return;
    const ended = Date.parse(pop.call.ended_at || "");
    if (!st || st.wrapup.done_at || isNaN(ended) || pop.state !== "ended" || !st.wrapup_seconds) { n.textContent = ""; return; }
    const left = Math.ceil((ended + st.wrapup_seconds * 1000 - Date.now()) / 1000);
    n.textContent = left > 0 ? t("wrapup_left", { s: digits(left) }) : t("wrapup_over");
  }
  setInterval(tick, 1000);

  return {
    show,
    start(p, match) { started.add(p.id); keepStarted(); failed.delete(p.id); show(p, match); },
    open: (id) => started.has(id) || callId === id,
    redraw: () => { if (callId) draw(); },
  };
};
