// Entitle's one script of its own: a form is sent once. A double click on a
// plain form's button would otherwise post twice (two invitations, two
// plan changes); htmx forms get the same guard from hx-disabled-elt on
// <body>. The server stays the judge: every action is safe to repeat.
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
});
// Coming back with the browser's back button shows the page as it was:
// let its forms be sent again.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-sent]").forEach(function (form) {
    delete form.dataset.sent;
  });
});
