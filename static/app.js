// Entitle's one script of its own. Everything works without it (forms post,
// the server redirects and shows messages); it adds what a browser cannot
// do alone: one send per click, messages beside the fields with focus on
// the first, buttons that wait for a selection, and the phone menu.
(function () {
  "use strict";

  // A page whose plain form has been sent is on its way to the answer, and
  // sends no more requests of its own (a poll, a live fragment): one
  // answered first could take the browser elsewhere. After "End session",
  // a support session's last poll of /seats is answered with the sign-in
  // page's address, which would win over the console the form returns to.
  var leaving = false;

  // A form is sent once. A double click on a plain form's button would
  // otherwise post twice (two invitations, two plan changes). The server
  // stays the judge: every action is safe to repeat.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) {
      return;
    }
    if (form.dataset.sent === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "true";
    leaving = true;
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (leaving) { event.preventDefault(); }
  });
  // Coming back with the browser's back button shows the page as it was:
  // let its forms be sent again.
  window.addEventListener("pageshow", function () {
    leaving = false;
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
    });
    document.querySelectorAll("form").forEach(updateSelection);
  });

  // htmx forms: their submit buttons wait while the form's own request
  // runs. A field's own request (the sign-in page's single sign-on hint, a
  // search box) leaves them alone: a person who presses Sign in while the
  // hint loads must not find the button dead.
  function submittedForm(elt) {
    if (elt.tagName === "FORM") { return elt; }
    if (elt.tagName === "BUTTON" && elt.type === "submit") { return elt.form; }
    return null;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var form = elt.closest ? elt.closest("form") : null;
    if (!form) { return; }
    // A form sent anew clears the last answer (data-answers: the members
    // page's "… is now Admin."), as #errors is cleared: left in place, an
    // old answer covered the new refusal pinned to the same spot.
    document.querySelectorAll("[data-answers]").forEach(function (area) { area.replaceChildren(); });
    lastForm = form;
    clearFieldErrors(form);
    if (submittedForm(elt) !== form) { return; }
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      if (!b.disabled) { b.disabled = true; b.dataset.busy = "true"; }
    });
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt.closest ? event.detail.elt.closest("form") : null;
    if (!form) { return; }
    form.querySelectorAll("button[data-busy]").forEach(function (b) {
      b.disabled = false;
      delete b.dataset.busy;
    });
    // A refused change of a form marked data-reset-refused (a member's
    // role) puts its fields back as the page had them: left as chosen, the
    // box showed a role the member does not have.
    var xhr = event.detail.xhr;
    if (form.hasAttribute("data-reset-refused") && xhr && xhr.status >= 400) { form.reset(); }
    updateSelection(form);
  });

  // Field messages: a refused plain post comes back with #form-state (the
  // server's flash); a refused htmx post swaps a message carrying
  // data-fields into #errors.
  var lastForm = null;
  function clearFieldErrors(form) {
    form.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
  }
  function showFieldErrors(form, fields) {
    var first = null;
    Object.keys(fields).forEach(function (name, i) {
      var field = form.querySelector('[name="' + CSS.escape(name) + '"]:not([type=hidden])');
      var p = document.createElement("p");
      p.className = "field-error";
      p.id = "error-" + (form.id || "form") + "-" + name.replace(/[^a-zA-Z0-9_-]/g, "_") + "-" + i;
      p.dataset.testid = "field-error";
      p.dataset.field = name;
      p.textContent = fields[name];
      if (field) {
        var after = field.closest("label") || field;
        after.insertAdjacentElement("afterend", p);
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", p.id);
        if (!first) { first = field; }
      } else {
        form.insertAdjacentElement("afterbegin", p);
        if (!first) { first = form.querySelector("input:not([type=hidden]), select, textarea, button"); }
      }
    });
    if (first) { first.focus(); }
  }
  function restoreValues(form, values) {
    Object.keys(values || {}).forEach(function (name) {
      var all = values[name].split("\n");
      form.querySelectorAll('[name="' + CSS.escape(name) + '"]').forEach(function (el) {
        if (el.type === "hidden" || el.type === "file" || el.type === "password" || el.type === "submit") { return; }
        if (el.type === "checkbox" || el.type === "radio") {
          el.checked = all.indexOf(el.value) >= 0;
        } else {
          el.value = values[name];
        }
      });
    });
  }
  function formFor(state) {
    var candidates = [].slice.call(document.querySelectorAll("form")).filter(function (f) {
      return f.getAttribute("action") === state.action || f.getAttribute("hx-post") === state.action;
    });
    // Several forms post to one address (one per subscription): the one
    // whose hidden fields match what was sent.
    var values = state.values || {};
    return candidates.filter(function (f) {
      return [].every.call(f.querySelectorAll("input[type=hidden]"), function (h) {
        return h.name === "_csrf" || !(h.name in values) || values[h.name] === h.value;
      });
    })[0] || candidates[0];
  }
  function applyFormState() {
    var script = document.getElementById("form-state");
    if (!script) { return; }
    var state;
    try { state = JSON.parse(script.textContent); } catch (e) { return; }
    state = { action: state.a, fields: state.e || {}, values: state.v || {} };
    var form = formFor(state);
    if (!form) { return; }
    restoreValues(form, state.values);
    updateSelection(form);
    showFieldErrors(form, state.fields);
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "errors" || !lastForm || !document.contains(lastForm)) { return; }
    var msg = event.detail.target.querySelector("[data-fields]");
    if (msg && msg.dataset.fields) {
      try { showFieldErrors(lastForm, JSON.parse(msg.dataset.fields)); return; } catch (e) { /* no fields */ }
    }
    reveal(event.detail.target);
  });
  // An answer swapped far from the button that asked for it (a plan
  // change's preview above the plans table, a refusal in #errors at the
  // top) is brought into view: otherwise the click seems to do nothing.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.hasAttribute("data-reveal")) { reveal(target); }
  });
  // An answer pinned to the window's top (#errors, the members page's
  // data-answers area) stays while the page is scrolled, so it gets a
  // button to put it away: left there, it covered the table's headings
  // until the next form was sent.
  function pinned(area) {
    return area && (area.id === "errors" || area.hasAttribute("data-answers"));
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var area = event.detail.target;
    if (!pinned(area) || !area.querySelector(".flash") || area.querySelector(".flash-dismiss")) { return; }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "flash-dismiss";
    close.setAttribute("aria-label", "Dismiss this message");
    close.dataset.testid = "flash-dismiss";
    close.textContent = "\u00d7";
    area.append(close);
  });
  document.addEventListener("click", function (event) {
    var close = event.target.closest ? event.target.closest(".flash-dismiss") : null;
    if (close && pinned(close.parentElement)) { close.parentElement.replaceChildren(); }
  });
  function reveal(target) {
    if (!target.textContent.trim()) { return; }
    var box = target.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) {
      target.scrollIntoView({ block: "start" });
    }
  }

  // Buttons that act on a selection wait for one: data-needs="member_id"
  // on the button; a box with data-select-all="member_id" ticks them all.
  function updateSelection(form) {
    if (!form || !form.querySelectorAll) { return; }
    var elements = [].slice.call(form.elements || []);
    elements.filter(function (el) { return el.matches("button[data-needs]"); }).forEach(function (b) {
      var name = b.dataset.needs;
      var owner = b.form || form;
      var any = [].some.call(document.querySelectorAll('input[name="' + CSS.escape(name) + '"]'), function (box) {
        return box.checked && (box.form === owner);
      });
      // data-refused: the session may not act at all (a read-only support
      // session); a selection does not change that.
      var off = !any || b.hasAttribute("data-refused");
      b.disabled = off;
      b.setAttribute("aria-disabled", String(off));
    });
    elements.filter(function (el) { return el.matches("input[data-select-all]"); }).forEach(function (all) {
      var boxes = [].filter.call(document.querySelectorAll('input[name="' + CSS.escape(all.dataset.selectAll) + '"]'), function (box) {
        return box.form === form && !box.disabled;
      });
      all.checked = boxes.length > 0 && boxes.every(function (box) { return box.checked; });
    });
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.form) { return; }
    if (el.dataset.selectAll) {
      [].forEach.call(document.querySelectorAll('input[name="' + CSS.escape(el.dataset.selectAll) + '"]'), function (box) {
        if (box.form === el.form && !box.disabled) { box.checked = el.checked; }
      });
    }
    updateSelection(el.form);
  });
  document.addEventListener("htmx:afterSettle", function () {
    disableRefused(document);
    document.querySelectorAll("form").forEach(updateSelection);
  });

  // A read-only support session: the server refuses every change, so
  // every control that would send one is disabled (the banner says why).
  // Pages mark theirs server-side where they can; this covers the rest.
  // Ending the session posts to the console and stays enabled.
  function disableRefused(root) {
    if (!document.body || !document.body.hasAttribute("data-read-only")) { return; }
    root.querySelectorAll("form").forEach(function (form) {
      var method = (form.getAttribute("method") || "get").toLowerCase();
      var action = form.getAttribute("action") || "";
      if ((method !== "post" && !form.hasAttribute("hx-post")) || action.indexOf("/admin/") === 0) { return; }
      [].forEach.call(form.elements, function (el) {
        if (el.matches("button, input[type=submit]") && el.type === "submit") { refuse(el); }
      });
    });
    root.querySelectorAll("[hx-post]:not(form)").forEach(refuse);
  }
  function refuse(el) {
    el.disabled = true;
    el.setAttribute("data-refused", "");
    el.title = "Read-only support session: changes are refused";
  }

  // Forms whose fields depend on a kind (the console's grant form): only
  // the chosen kind's fieldsets show, and the others are not sent. Without
  // the script every fieldset shows, each saying which kinds it is for.
  function showKindFields(select) {
    var form = select.form;
    if (!form) { return; }
    form.querySelectorAll("fieldset[data-kinds]").forEach(function (set) {
      var on = set.dataset.kinds.split(" ").indexOf(select.value) >= 0;
      set.hidden = !on;
      set.disabled = !on;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-kind-select]")) { showKindFields(event.target); }
  });

  // Search results are announced: a swapped-in element marked
  // data-announce (a list's "12 members") is read into the page's one
  // polite live region, which stays in place across swaps.
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.detail.elt;
    var live = document.getElementById("live-announce");
    if (!live || !root || !root.querySelector) { return; }
    var said = root.matches && root.matches("[data-announce]") ? root : root.querySelector("[data-announce]");
    if (said) { live.textContent = said.textContent.trim(); }
  });

  // The phone menu: the navigation folds behind one button.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest ? event.target.closest(".menu-toggle") : null;
    if (!toggle) { return; }
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
  });

  // The settings menu closes as a menu does: on a click outside it, and on
  // Escape (focus goes back to its summary).
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.nav-group[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll("details.nav-group[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      if (menu.contains(document.activeElement)) { menu.querySelector("summary").focus(); }
    });
  });

  // A table wider than a phone scrolls inside its card; one with nothing
  // to tab to inside is made focusable, so a keyboard can scroll it too.
  function focusWideTables() {
    document.querySelectorAll("main table").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth + 1 && !table.hasAttribute("tabindex") &&
          !table.querySelector("a[href], button, input, select, textarea, [tabindex]")) {
        table.setAttribute("tabindex", "0");
      }
    });
  }
  document.addEventListener("htmx:afterSettle", focusWideTables);
  window.addEventListener("resize", focusWideTables);

  document.documentElement.classList.add("js");
  function ready() {
    focusWideTables();
    document.querySelectorAll("select[data-kind-select]").forEach(showKindFields);
    disableRefused(document);
    document.querySelectorAll("form").forEach(updateSelection);
    applyFormState();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
