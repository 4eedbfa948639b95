// Page behaviour without inline scripts, so the Content-Security-Policy can forbid them.
(function () {
  "use strict";
  // <select data-autosubmit> submits its form when changed (unit switcher, language).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.submit();
    }
  });
  // <input type=checkbox data-select-all="name"> ticks or clears every checkbox called "name" in its form.
  document.addEventListener("change", function (event) {
    var el = event.target;
    var name = el.getAttribute && el.getAttribute("data-select-all");
    if (name && el.form) {
      el.form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = el.checked;
      });
    }
  });
  // <form data-confirm="…"> asks before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
  // A [data-remove-after-load] button (tree expanders) disappears once its content has arrived.
  document.addEventListener("htmx:afterRequest", function (event) {
    var el = event.detail && event.detail.elt;
    if (el && el.hasAttribute && el.hasAttribute("data-remove-after-load") && event.detail.successful) {
      el.remove();
    }
  });
})();
