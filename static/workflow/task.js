/* The task and instance pages: open the action dialogs in place, the person picker.
   Without this file everything still works: the action links open their dialog through
   the server (?action=name) and the person fields take a user name or employee number. */
(function () {
  "use strict";

  function openDialog(id) {
    var dialog = document.getElementById(id);
    if (!dialog || typeof dialog.showModal !== "function") return false;
    if (dialog.open) dialog.close();
    dialog.showModal();
    var first = dialog.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
    return true;
  }

  // the step form's own fields only: the dialogs' fields (form="stepform") belong to their
  // action, and a reject reason must not stop an approval
  function stepFieldsValid(form) {
    var fields = form.querySelectorAll("input, select, textarea");
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].disabled && !fields[i].reportValidity()) return false;
    }
    return true;
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest("[data-dialog]");
    if (!trigger) return;
    // approve / hand back: check the step form first, so the dialog only confirms good input
    var stepform = document.getElementById("stepform");
    if (trigger.form === stepform && stepform && !stepFieldsValid(stepform)) {
      event.preventDefault();
      return;
    }
    if (openDialog(trigger.getAttribute("data-dialog"))) {
      event.preventDefault();
      var more = trigger.closest("details.more");
      if (more) more.open = false;
    }
  });

  // a dialog the server opened (no-JS fallback, or errors to correct) becomes modal
  document.querySelectorAll("dialog.action-dialog[open]").forEach(function (dialog) {
    dialog.close();
    dialog.showModal();
  });

  // confirm buttons: no double submission
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.hasAttribute("data-confirm")) {
      window.setTimeout(function () { button.disabled = true; }, 0);
    }
  });

  // the person picker: fields with data-picker="one" | "many"
  var peopleUrl = document.body.getAttribute("data-people-url") || "/workflow/people/";
  var timer = null;

  function resultsFor(input) {
    var box = input.parentNode.querySelector(".picker-results");
    if (!box) {
      box = document.createElement("div");
      box.className = "picker-results";
      input.insertAdjacentElement("afterend", box);
    }
    return box;
  }

  function currentTerm(input) {
    if (input.getAttribute("data-picker") !== "many") return input.value.trim();
    var parts = input.value.split(/[\s,;，、；]+/);
    return parts[parts.length - 1];
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-picker]")) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var term = currentTerm(input);
      var box = resultsFor(input);
      if (!term) { box.innerHTML = ""; return; }
      fetch(peopleUrl + "?q=" + encodeURIComponent(term), {
        headers: { "HX-Request": "true" }, credentials: "same-origin"
      }).then(function (response) {
        return response.ok ? response.text() : "";
      }).then(function (html) {
        if (currentTerm(input) !== term) return; // typed on meanwhile: a later answer comes
        box.innerHTML = html; // server-rendered and escaped by Django's templates
      });
    }, 250);
  });

  document.addEventListener("click", function (event) {
    var pick = event.target.closest("button.pick");
    if (!pick) return;
    var box = pick.closest(".picker-results");
    var input = box && box.parentNode.querySelector("[data-picker]");
    if (!input) return;
    var name = pick.getAttribute("data-pick");
    if (input.getAttribute("data-picker") === "many") {
      var parts = input.value.split(/[\s,;，、；]+/);
      parts.pop(); // the term being typed (empty right after a separator)
      parts = parts.filter(Boolean);
      if (parts.indexOf(name) < 0) parts.push(name);
      input.value = parts.join(", ") + ", ";
    } else {
      input.value = name;
    }
    box.innerHTML = "";
    input.focus();
  });

  // The diagram is often wider than its frame: bring the step that waits now (or the one
  // that failed) into view, when the page loads and after each refresh of the diagram.
  function showCurrentStep(root) {
    (root || document).querySelectorAll(".diagram-scroll").forEach(function (frame) {
      var step = frame.querySelector(".is-failed, .is-active");
      if (!step || frame.scrollWidth <= frame.clientWidth) return;
      var box = step.getBoundingClientRect();
      var view = frame.getBoundingClientRect();
      frame.scrollLeft += box.left - view.left - (view.width - box.width) / 2;
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { showCurrentStep(); });
  } else {
    showCurrentStep();
  }
  document.body.addEventListener("htmx:afterSwap", function (event) { showCurrentStep(event.target); });
})();
