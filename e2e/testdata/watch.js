// Runs in every document the e2e tabs load, before the page's own scripts.
// It reports to the Go side (window.entitleE2EReport, an exposed func):
//   - every htmx error event (a dead action must fail the test, not go
//     unnoticed in the console);
//   - axe-core's serious and critical violations, after each page load,
//     each htmx swap and each change of the window's size;
//   - a page wider than the window (sideways scroll);
//   - a word of a column's heading or of a cell of words (.keep-words)
//     split over two lines ("Accou / nt").
(function () {
  "use strict";
  // width is the window's when the check began (default: now): a check's
  // results arrive after the window may have changed.
  function report(kind, text, width) {
    if (typeof window.entitleE2EReport === "function") {
      window.entitleE2EReport({ kind: kind, text: text, url: location.pathname + location.search, width: width || window.innerWidth });
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

  // Only serious and critical violations fail a test, and axe-core gives
  // every violation of a rule that rule's own impact, so a rule whose
  // impact is minor or moderate can never fail one: it is switched off
  // rather than run on every page for nothing. (Should axe-core stop
  // describing its rules this way, every rule runs.)
  var quietRules = null;
  function quiet() {
    if (quietRules) { return quietRules; }
    quietRules = {};
    ((window.axe._audit && window.axe._audit.rules) || []).forEach(function (rule) {
      if (rule.impact === "minor" || rule.impact === "moderate") { quietRules[rule.id] = { enabled: false }; }
    });
    return quietRules;
  }

  var running = false, again = false, timer = null, dirty = true; // a new document is not audited yet
  function audit() {
    timer = null;
    dirty = false;
    if (!window.axe) { return Promise.resolve(); }
    if (running) { again = true; return window.__e2eRun; }
    running = true;
    var width = window.innerWidth;
    var doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth + 1) {
      var widest = "";
      document.querySelectorAll("body *").forEach(function (el) {
        if (!widest && el.getBoundingClientRect().right > window.innerWidth + 1 && getComputedStyle(el).position !== "fixed") {
          widest = el.outerHTML.slice(0, 120);
        }
      });
      report("scroll", "the page is " + doc.scrollWidth + " px wide in a " + width + " px window; first too wide: " + widest, width);
    }
    var split = splitWord();
    if (split) {
      report("layout", "a word is split over two lines: " + split, width);
    }
    window.__e2eRun = window.axe.run(document, { resultTypes: ["violations"], rules: quiet() }).then(function (result) {
      result.violations.forEach(function (v) {
        if (v.impact !== "serious" && v.impact !== "critical") { return; }
        var nodes = v.nodes.slice(0, 3).map(function (n) { return n.target.join(" ") + " (" + (n.failureSummary || "").replace(/\s+/g, " ").slice(0, 160) + ")"; });
        report("axe", v.impact + " " + v.id + ": " + v.help + " — " + nodes.join("; "), width);
      });
    }, function (err) {
      report("axe", "axe-core failed: " + err, width);
    }).then(function () {
      running = false;
      if (again) { again = false; return audit(); }
    });
    return window.__e2eRun;
  }
  // splitWord is the first word (letters between spaces and hyphens) of a
  // column's heading or of a .keep-words cell whose letters lie on two
  // lines, with where it is; "" when none.
  // Text read aloud only (.sr-only) is clipped on purpose and not looked at.
  function splitWord() {
    var found = "";
    document.querySelectorAll("th, .keep-words").forEach(function (el) {
      if (found || !el.getClientRects().length) { return; }
      var walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (var node = walker.nextNode(); node && !found; node = walker.nextNode()) {
        if (node.parentElement.closest(".sr-only")) { continue; }
        var word = /[^\s\-\u2010]+/g, m; // a hyphen is a place to break
        while (!found && (m = word.exec(node.data))) {
          var range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          var tops = {};
          Array.prototype.forEach.call(range.getClientRects(), function (r) { tops[Math.round(r.top)] = true; });
          if (Object.keys(tops).length > 1) { found = "\"" + m[0] + "\" in " + el.outerHTML.slice(0, 120); }
        }
      }
    });
    return found;
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
  // __e2eWidth is the width of the last resize the checks were scheduled
  // for, so that a test knows when to ask for them (session.resize).
  window.addEventListener("resize", function () {
    window.__e2eWidth = window.innerWidth;
    schedule();
  });
  document.addEventListener("htmx:afterSettle", schedule);
})();
