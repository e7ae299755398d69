// The inbox: "select all approvable", the number selected on the bulk bar, the bulk approve
// dialog (the page's own <dialog>: how many are chosen, one shared opinion with the 常用语,
// 确定/取消), and the filter form open on wide screens. Everything works without this file:
// bulk approve then shows the server's confirmation page.
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

  // 批量审批: the bar's button opens the dialog; its 确定 sends the form with "confirmed"
  function ticked() {
    var list = document.getElementById("inbox-list");
    return list ? boxes(list).filter(function (box) { return box.checked; }).length : 0;
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest && event.target.closest('#bulk-form button[type="submit"]');
    var dialog = document.getElementById("bulk-dialog");
    if (!trigger || !dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    var count = ticked();
    if (!count) return;
    var label = dialog.querySelector("[data-bulk-count]");
    label.textContent = count === 1
      ? label.getAttribute("data-one")
      : label.getAttribute("data-many").replace("%(count)s", String(count));
    dialog.querySelector("[data-bulk-confirmed]").disabled = false;
    dialog.querySelector("[data-bulk-submit]").disabled = false;
    dialog.showModal();
  });

  document.addEventListener("click", function (event) {
    if (!(event.target.closest && event.target.closest("[data-bulk-cancel]"))) return;
    document.getElementById("bulk-dialog").close();
  });

  var bulkDialog = document.getElementById("bulk-dialog");
  if (bulkDialog) {
    // closed however (取消, Esc, sent): the next plain submit must ask again
    bulkDialog.addEventListener("close", function () {
      bulkDialog.querySelector("[data-bulk-confirmed]").disabled = true;
    });
  }

  // sent: what was sent is taken at once (by htmx, or the browser), so the dialog closes
  // and forgets its opinion; the list comes back with the messages
  document.addEventListener("submit", function (event) {
    if (!(event.target instanceof HTMLFormElement) || event.target.id !== "bulk-form") return;
    var dialog = document.getElementById("bulk-dialog");
    if (!dialog || !dialog.open) return;
    dialog.querySelector("[data-bulk-submit]").disabled = true; // no double approval
    window.setTimeout(function () {
      dialog.close();
      dialog.querySelector("textarea").value = "";
    }, 0);
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
