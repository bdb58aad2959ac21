// Runs in every document the e2e tabs load, before the page's own scripts.
// It reports to the Go side (window.entitleE2EReport, an exposed func):
//   - every htmx error event (a dead action must fail the test, not go
//     unnoticed in the console);
//   - axe-core's serious and critical violations, after each page load and
//     after each htmx swap;
//   - a page wider than the window (sideways scroll).
(function () {
  "use strict";
  function report(kind, text) {
    if (typeof window.entitleE2EReport === "function") {
      window.entitleE2EReport({ kind: kind, text: text, url: location.pathname + location.search });
    }
  }
  [
    "htmx:targetError", "htmx:responseError", "htmx:sendError", "htmx:swapError", "htmx:onLoadError",
    "htmx:oobErrorNoTarget", "htmx:historyCacheError", "htmx:timeout", "htmx:sseError",
  ].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var d = event.detail || {};
      var where = d.elt ? d.elt.outerHTML.slice(0, 160) : "";
      var status = d.xhr ? " status " + d.xhr.status : "";
      var target = d.target && d.target.id ? " target #" + d.target.id : (typeof d.target === "string" ? " target " + d.target : "");
      report("htmx", name + status + target + " on " + where);
    });
  });

  var running = false, again = false, timer = null, dirty = true; // a new document is not audited yet
  function audit() {
    timer = null;
    dirty = false;
    if (!window.axe) { return Promise.resolve(); }
    if (running) { again = true; return window.__e2eRun; }
    running = true;
    var doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth + 1) {
      var widest = "";
      document.querySelectorAll("body *").forEach(function (el) {
        if (!widest && el.getBoundingClientRect().right > window.innerWidth + 1 && getComputedStyle(el).position !== "fixed") {
          widest = el.outerHTML.slice(0, 120);
        }
      });
      report("scroll", "the page is " + doc.scrollWidth + " px wide in a " + window.innerWidth + " px window; first too wide: " + widest);
    }
    window.__e2eRun = window.axe.run(document, { resultTypes: ["violations"] }).then(function (result) {
      result.violations.forEach(function (v) {
        if (v.impact !== "serious" && v.impact !== "critical") { return; }
        var nodes = v.nodes.slice(0, 3).map(function (n) { return n.target.join(" ") + " (" + (n.failureSummary || "").replace(/\s+/g, " ").slice(0, 160) + ")"; });
        report("axe", v.impact + " " + v.id + ": " + v.help + " — " + nodes.join("; "));
      });
    }, function (err) {
      report("axe", "axe-core failed: " + err);
    }).then(function () {
      running = false;
      if (again) { again = false; return audit(); }
    });
    return window.__e2eRun;
  }
  // __e2eAudit resolves once the page as it is now has been audited: it
  // runs a scheduled audit at once, waits for a running one, and audits
  // only what changed since.
  window.__e2eAudit = function settled() {
    if (timer) { clearTimeout(timer); return audit().then(settled); }
    if (running) { return window.__e2eRun.then(settled); }
    if (dirty) { return audit().then(settled); }
    return Promise.resolve();
  };
  function schedule() {
    dirty = true;
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(audit, 120);
  }
  window.addEventListener("load", schedule);
  document.addEventListener("htmx:afterSettle", schedule);
})();
