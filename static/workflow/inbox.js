// The inbox: "select all approvable", the number selected on the bulk bar, and the filter
// form open on wide screens. Everything works without this file; it only adds comfort.
(function () {
  "use strict";

  function boxes(root) {
    return Array.prototype.slice.call(root.querySelectorAll('input[name="task"][form="bulk-form"]'));
  }

  function refresh() {
    var list = document.getElementById("inbox-list");
    if (!list) return;
    var all = boxes(list);
    var ticked = all.filter(function (box) { return box.checked; }).length;
    var head = list.querySelector(".bulk-head");
    if (head) head.hidden = all.length === 0;
    var selectAll = list.querySelector("[data-select-all]");
    if (selectAll) {
      selectAll.checked = all.length > 0 && ticked === all.length;
      selectAll.indeterminate = ticked > 0 && ticked < all.length;
    }
    var counter = list.querySelector("[data-selected-count]");
    if (counter && counter.dataset.template) {
      counter.textContent = counter.dataset.template.replace("%(count)s", String(ticked));
    }
    var bulk = document.getElementById("bulk-form");
    if (bulk) {
      var button = bulk.querySelector('button[type="submit"]');
      if (button) button.disabled = ticked === 0;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    if (target.matches("[data-select-all]")) {
      var list = document.getElementById("inbox-list");
      boxes(list).forEach(function (box) { box.checked = target.checked; });
      refresh();
    } else if (target.name === "task") {
      refresh();
    }
  });

  // A check box in the list must not trigger the filter form's htmx (it is not inside it),
  // and the list's swaps bring new boxes: count again after each.
  document.addEventListener("htmx:afterSettle", refresh);

  function ready() {
    var filters = document.getElementById("inbox-filters");
    if (filters && window.matchMedia("(min-width: 601px)").matches) filters.open = true;
    refresh();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
