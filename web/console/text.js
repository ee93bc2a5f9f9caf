// Text, numbers and dates in the agent's language.
import { strings as I18N } from "./i18n.js";
import { app } from "./state.js";

export function t(key, vars) {
  let s = (I18N[app.lang] && I18N[app.lang][key]) || I18N.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", () => String(v));
  return app.lang === "fa" ? digits(s) : s;
}

const faDigits = "۰۱۲۳۴۵۶۷۸۹";
export function digits(s) {
  s = String(s == null ? "" : s);
  return app.lang === "fa" ? s.replace(/[0-9]/g, (d) => faDigits[d]) : s;
}

export function fmtDate(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const loc = app.lang === "fa" ? "fa-IR-u-ca-persian-nu-arabext" : "en-GB";
  return new Intl.DateTimeFormat(loc, { dateStyle: "medium", timeStyle: "short" }).format(d);
}

// fmtTime is a short clock time for today's calls, the full date otherwise.
export function fmtTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  if (d.toDateString() !== new Date().toDateString()) return fmtDate(iso);
  const loc = app.lang === "fa" ? "fa-IR-u-ca-persian-nu-arabext" : "en-GB";
  return new Intl.DateTimeFormat(loc, { timeStyle: "short" }).format(d);
}

export function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return digits((h ? h + ":" : "") + mm + ":" + ss);
}

// tOr translates a key built from data, falling back to the raw value
// for one the console does not know yet.
export function tOr(key, raw) {
  return I18N.en[key] ? t(key) : digits(raw);
}

export function joinList(xs) {
  return (xs || []).filter(Boolean).join(app.lang === "fa" ? "، " : ", ");
}
