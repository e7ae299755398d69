/* The portal's own form fields (docs/forms.md), wherever a process's form is shown:
   - the person / people / department pickers: type to search (the server's partial lists
     the matches), pick one, remove a chosen one with ✕; each chosen one posts a hidden field;
   - money: the amount read back under the box (12,345.60 · 壹万贰仟叁佰肆拾伍元陆角整);
   - the days of a leave, counted by the server as the dates change, with the balance;
   - files kept after a form error: ✕ lets one go.
   Every text people read comes from the server (templates), in their language. */
(function () {
  "use strict";
  if (window.portalForms) return;
  window.portalForms = true;

  // --- pickers ---------------------------------------------------------------------------
  var timer = null;

  function pickerOf(element) { return element.closest(".form-picker"); }

  function search(input) {
    var picker = pickerOf(input);
    var found = picker.querySelector(".form-picker-found");
    var term = input.value.trim();
    if (!term) { found.innerHTML = ""; return; }
    var url = picker.getAttribute("data-search-url");
    fetch(url + "?q=" + encodeURIComponent(term), {
      headers: { "HX-Request": "true" }, credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      if (input.value.trim() !== term) return; // typed on meanwhile
      found.innerHTML = html; // rendered and escaped by the server's templates
      var first = found.querySelector("button.pick");
      if (first) first.classList.add("is-first");
    });
  }

  function choose(picker, value, label, detail) {
    var chosen = picker.querySelector(".form-picker-chosen");
    var multiple = picker.hasAttribute("data-multiple");
    var present = chosen.querySelector('li[data-value="' + CSS.escape(value) + '"]');
    if (!multiple) chosen.innerHTML = "";
    else if (present) return;
    var item = document.createElement("li");
    item.className = "chip";
    item.setAttribute("data-value", value);
    var text = document.createElement("span");
    text.className = "chip-label";
    text.textContent = label;
    item.appendChild(text);
    if (detail) {
      var small = document.createElement("small");
      small.className = "chip-detail";
      small.textContent = detail;
      item.appendChild(document.createTextNode(" "));
      item.appendChild(small);
    }
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.setAttribute("aria-label", picker.getAttribute("data-remove-label").replace("{name}", label));
    remove.textContent = "✕";
    item.appendChild(remove);
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = picker.getAttribute("data-name");
    hidden.value = value;
    item.appendChild(hidden);
    chosen.appendChild(item);
    chosen.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function pick(button) {
    var picker = pickerOf(button);
    var name = button.querySelector("strong");
    var detail = button.querySelector(".muted");
    // the department (people) or the path (departments): the last part of the grey line
    var parts = detail ? detail.textContent.split(" · ") : [];
    var extra = picker.getAttribute("data-form-picker") === "department" ? "" : (parts.length > 1 ? parts[parts.length - 1] : "");
    if (parts.length > 1 && /^[0-9A-Za-z-]+$/.test(extra)) extra = ""; // an employee number, not a department
    choose(picker, button.getAttribute("data-pick"), name ? name.textContent : button.getAttribute("data-pick"), extra);
    var input = picker.querySelector(".form-picker-search");
    input.value = "";
    picker.querySelector(".form-picker-found").innerHTML = "";
    input.focus();
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.matches && input.matches(".form-picker-search")) {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { search(input); }, 250);
    } else if (input.matches && input.matches("input[data-money]")) {
      showAmount(input);
    }
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.matches || !input.matches(".form-picker-search")) return;
    event.preventDefault(); // Enter picks the first match instead of submitting the form
    var first = pickerOf(input).querySelector(".form-picker-found button.pick");
    if (first) pick(first);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    if (button.matches(".form-picker-found button.pick")) {
      pick(button);
    } else if (button.matches(".chip-remove")) {
      var item = button.closest("li.chip");
      var list = item && item.parentNode;
      if (!item) return;
      var picker = pickerOf(button);
      item.remove();
      if (list) list.dispatchEvent(new Event("change", { bubbles: true }));
      var input = picker && picker.querySelector(".form-picker-search");
      if (input) input.focus();
    }
  });

  // --- money -------------------------------------------------------------------------------
  var DIGITS = "零壹贰叁肆伍陆柒捌玖";
  var SMALL = ["", "拾", "佰", "仟"];
  var GROUPS = ["", "万", "亿"];
  var MAX_YUAN = 999999999999;

  function group(number) {
    var text = "", zero = false;
    for (var position = 3; position >= 0; position--) {
      var digit = Math.floor(number / Math.pow(10, position)) % 10;
      if (digit === 0) { zero = text !== ""; continue; }
      if (zero) { text += "零"; zero = false; }
      text += DIGITS.charAt(digit) + SMALL[position];
    }
    return text;
  }

  function integer(number) {
    var groups = [];
    while (number) { groups.push(number % 10000); number = Math.floor(number / 10000); }
    var text = "", needsZero = false;
    for (var index = groups.length - 1; index >= 0; index--) {
      var part = groups[index];
      if (part === 0) { needsZero = text !== ""; continue; }
      if (text && (needsZero || part < 1000)) text += "零";
      needsZero = false;
      text += group(part) + GROUPS[index];
    }
    return text;
  }

  // workflow/money.py's capital(), for what is being typed
  function capital(negative, yuan, jiao, fen) {
    var sign = negative ? "负" : "";
    var text = yuan ? integer(yuan) + "元" : "";
    if (jiao === 0 && fen === 0) return sign + (text || "零元") + "整";
    if (jiao) text += DIGITS.charAt(jiao) + "角";
    else if (yuan) text += "零";
    text += fen ? DIGITS.charAt(fen) + "分" : "整";
    return sign + text;
  }

  function showAmount(input) {
    var box = input.closest(".money-box");
    var shown = box && box.parentNode.querySelector("[data-money-shown]");
    if (!shown) return;
    var text = input.value.replace(/[,\s¥￥元]/g, "").replace(/[０-９．]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xFEE0);
    });
    var match = /^(-?)([0-9]+)(?:\.([0-9]{1,2}))?$/.exec(text);
    if (!match) { shown.textContent = ""; return; }
    var yuan = parseInt(match[2], 10);
    var cents = ((match[3] || "") + "00").slice(0, 2);
    if (yuan > MAX_YUAN) { shown.textContent = ""; return; }
    var grouped = String(yuan).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    shown.textContent = match[1] + grouped + "." + cents + " · " +
      capital(match[1] === "-" && (yuan > 0 || cents !== "00"), yuan, +cents.charAt(0), +cents.charAt(1));
  }

  // --- the days of a leave -------------------------------------------------------------------
  function fieldValue(form, name) {
    var element = form.elements[name];
    if (!element) return "";
    return element.value || "";
  }

  function fieldLabel(form, name) {
    var element = form.elements[name];
    if (!element || element.tagName !== "SELECT" || element.selectedIndex < 0) return "";
    return element.options[element.selectedIndex].text;
  }

  function countLeave(box) {
    var form = box.closest("form");
    var url = box.getAttribute("data-leave-url");
    var summary = box.querySelector(".leave-days-summary");
    if (!form || !url || !summary) return;
    var query = new URLSearchParams({
      start: fieldValue(form, box.getAttribute("data-start")),
      start_half: fieldValue(form, box.getAttribute("data-start-half")),
      end: fieldValue(form, box.getAttribute("data-end")),
      end_half: fieldValue(form, box.getAttribute("data-end-half")),
      leave_type: fieldValue(form, box.getAttribute("data-leave-type")),
      leave_label: fieldLabel(form, box.getAttribute("data-leave-type"))
    });
    // Only the latest count is shown: an answer to dates since changed arrives late
    // (the start date's change, then the end date's) and would overwrite the newer one.
    var asked = (box.leaveAsked || 0) + 1;
    box.leaveAsked = asked;
    fetch(url + "?" + query.toString(), {
      headers: { "HX-Request": "true" }, credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      if (!html || box.leaveAsked !== asked) return;
      summary.innerHTML = html; // rendered and escaped by the server's template
      var result = summary.querySelector("[data-days]");
      box.querySelector(".leave-days-value").value = result ? result.getAttribute("data-days") : "";
    });
  }

  function leaveBoxes() { return document.querySelectorAll(".leave-days[data-leave-url]"); }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.name) return;
    leaveBoxes().forEach(function (box) {
      var names = ["data-start", "data-start-half", "data-end", "data-end-half", "data-leave-type"]
        .map(function (attribute) { return box.getAttribute(attribute); });
      if (names.indexOf(target.name) >= 0 && box.closest("form") === target.form) countLeave(box);
    });
  });

  function start() {
    leaveBoxes().forEach(function (box) {
      if (box.querySelector(".leave-days-summary")) countLeave(box);
    });
    document.querySelectorAll("input[data-money]").forEach(showAmount);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
