// The page's language: English or Persian, switched by the agent and redrawn everywhere.
import { $ } from "./dom.js";
import { api } from "./http.js";
import { app, local } from "./state.js";
import { t } from "./text.js";
import { renderHelp } from "./keys.js";
import { setConn } from "./connection.js";
import { panel } from "./panels.js";
import { render } from "./card.js";
import { renderDue } from "./due.js";
import { renderRecent } from "./recent.js";

export function applyLang() {
  document.documentElement.lang = app.lang;
  document.documentElement.dir = app.lang === "fa" ? "rtl" : "ltr";
  for (const n of document.querySelectorAll("[data-i18n]")) n.textContent = t(n.dataset.i18n);
  for (const n of document.querySelectorAll("[data-i18n-placeholder]")) {
    n.placeholder = t(n.dataset.i18nPlaceholder);
    n.setAttribute("aria-label", n.placeholder);
  }
  $("lang-switch").textContent = app.lang === "fa" ? "English" : "فارسی";
  document.title = t("brand");
  renderHelp();
  setConn(document.body.dataset.conn === "up");
  panel.redraw();
  render();
  renderDue();
  renderRecent();
}

// setLang switches the page to lang and remembers it in this browser.
export function setLang(lang) {
  app.lang = lang;
  local.set("tamas.lang", lang);
  applyLang();
}

$("lang-switch").addEventListener("click", () => {
  setLang(app.lang === "fa" ? "en" : "fa");
  if (app.me) api("PUT", "/api/v1/me/lang", { lang: app.lang }).catch(() => {});
});
