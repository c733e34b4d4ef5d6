// Live views: a page's live regions, asked for again every few seconds and swapped in place.
// A file of its own: the pages allow no inline script (CSP), and htmx runs without eval.
//
// The control (#live, rendered by base.html on a live page) carries the htmx attributes: a
// `live-tick` event makes it GET the page's own URL and swap the regions named by
// `hx-select-oob` (ids), nothing else: forms, filters and scroll stay as they are. This script
// only decides when a tick happens: every `data-live-seconds` after the last answer, never
// while the tab is hidden or the operator paused (remembered in localStorage), at once when the
// tab is shown again. It also keeps a region whose field has the focus or holds a selection, and
// marks for a moment each number that changed (`live-changed`, faded by a CSS transition).
// Without JavaScript the control stays hidden and a reload does the same.
(function () {
  "use strict";
  var control = document.getElementById("live");
  if (!control || !window.htmx) { return; }
  var toggle = document.getElementById("live-toggle");
  var status = document.getElementById("live-status");
  var seconds = Number(control.getAttribute("data-live-seconds")) || 5;
  var pausedKey = "console-live-paused";
  var timer = null, stopped = false, before = {};

  function paused() {
    try { return window.localStorage.getItem(pausedKey) === "1"; } catch (e) { return false; }
  }
  function remember(value) {
    try { window.localStorage.setItem(pausedKey, value ? "1" : "0"); } catch (e) { /* private mode: this page only */ }
  }
  function running() { return !stopped && !paused() && document.visibilityState === "visible"; }
  function clock() { return new Date().toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"}); }
  function say(text, state) {
    status.textContent = text;
    control.classList.toggle("paused", state === "paused");
    control.classList.toggle("failing", state === "failing");
  }
  function schedule() {
    window.clearTimeout(timer);
    timer = running() ? window.setTimeout(tick, seconds * 1000) : null;
  }
  function tick() {
    timer = null;
    if (running()) { window.htmx.trigger(control, "live-tick"); }
  }
  function showState() {
    var isPaused = paused();
    toggle.textContent = isPaused ? "Resume" : "Pause";
    toggle.setAttribute("aria-pressed", isPaused ? "true" : "false");
    if (isPaused) { say("live updates paused", "paused"); }
  }

  // A region is kept as it is while the operator is busy in it: typing, choosing, selecting text.
  function busy(region) {
    var active = document.activeElement;
    if (active && region.contains(active) && active.matches("input, select, textarea") &&
        !active.closest("[hx-preserve]")) { return true; }
    var selection = window.getSelection();
    return !!(selection && !selection.isCollapsed && selection.rangeCount &&
              region.contains(selection.getRangeAt(0).commonAncestorContainer));
  }
  function values(region) {
    var found = {};
    var marked = region.querySelectorAll("[data-live]");
    for (var i = 0; i < marked.length; i++) {
      var element = marked[i];
      found[element.getAttribute("data-live")] = element.hasAttribute("data-live-value")
        ? element.getAttribute("data-live-value") : element.textContent.trim();
    }
    return found;
  }
  function mark(element) {
    element.classList.add("live-changed");
    window.setTimeout(function () { element.classList.remove("live-changed"); }, 3000);
  }

  document.body.addEventListener("htmx:oobBeforeSwap", function (event) {
    var region = event.detail.target;
    if (busy(region)) { event.detail.shouldSwap = false; return; }
    if (region.id) { before[region.id] = values(region); }
  });
  control.addEventListener("htmx:afterSettle", function () {
    Object.keys(before).forEach(function (id) {
      var region = document.getElementById(id), old = before[id];
      if (!region) { return; }
      var marked = region.querySelectorAll("[data-live]");
      for (var i = 0; i < marked.length; i++) {
        var element = marked[i], key = element.getAttribute("data-live");
        var value = element.hasAttribute("data-live-value")
          ? element.getAttribute("data-live-value") : element.textContent.trim();
        if (old[key] !== value) { mark(element); }
      }
    });
    before = {};
  });
  control.addEventListener("htmx:afterRequest", function (event) {
    var request = event.detail.xhr;
    if (request && request.responseURL && request.responseURL.indexOf("/admin/login") !== -1) {
      stopped = true;  // the session ended: a reload leads to the sign-in page
      say("signed out: reload the page to sign in again", "failing");
    } else if (event.detail.successful) {
      say("live · updated " + clock(), "live");
    } else {
      say("could not update at " + clock() + (request && request.status ? " (" + request.status + ")" : "") +
          ": trying again", "failing");
    }
    schedule();
  });
  toggle.addEventListener("click", function () {
    remember(!paused());
    showState();
    if (!paused()) { say("live · resuming", "live"); tick(); } else { schedule(); }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { tick(); } else { schedule(); }
  });
  window.addEventListener("storage", function (event) {  // paused or resumed in another tab
    if (event.key === pausedKey) { showState(); if (!paused()) { say("live", "live"); } schedule(); }
  });

  control.hidden = false;
  showState();
  if (!paused()) { say("live · every " + seconds + " s", "live"); }
  schedule();
})();
