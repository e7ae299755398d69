/* The opinion box of every action (审批意见): its 常用语 chips (one tap inserts the phrase)
   and, where the step asks for one, the handwritten signature pad (window.SignaturePad from
   /static/signature/signature.js). The drawing travels as a PNG data URL in the hidden field
   next to the canvas; the server checks it again. Without JavaScript the box is a plain text
   box and a step that requires a signature says that signing needs JavaScript. */
(function () {
  "use strict";

  // --- 常用语 ---------------------------------------------------------------------------
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("textarea")) event.target.dataset.touched = "1";
  });

  // after the text: joined by a comma unless it ends with punctuation
  function appended(value, phrase) {
    var text = value.replace(/\s+$/, "");
    return text + (/[。！？.!?，,；;：:、]$/.test(text) ? "" : "，") + phrase;
  }

  function insertPhrase(box, phrase) {
    var value = box.value;
    var start = box.selectionStart, end = box.selectionEnd;
    var caret = box.dataset.touched && typeof start === "number" && start < value.trimEnd().length;
    if (!value.trim()) {
      box.value = phrase;
    } else if (caret) {
      // where the person was writing in the middle (replacing what they had selected)
      box.value = value.slice(0, start) + phrase + value.slice(end);
      box.selectionStart = box.selectionEnd = start + phrase.length;
    } else {
      box.value = appended(value, phrase);
    }
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var chip = event.target.closest && event.target.closest("button.chip[data-phrase]");
    if (!chip) return;
    event.preventDefault();
    var box = document.getElementById(chip.getAttribute("data-for"));
    if (box) insertPhrase(box, chip.getAttribute("data-phrase"));
  });

  // --- the signature pad --------------------------------------------------------------------
  function setUp(wrapper) {
    if (wrapper.signaturePad || typeof window.SignaturePad !== "function") return;
    var canvas = wrapper.querySelector("canvas");
    var field = wrapper.querySelector("input[data-signature]");
    if (!canvas || !field) return;
    var pad = new window.SignaturePad(canvas, {
      penColor: "#111", minWidth: 0.8, maxWidth: 2.8, throttle: 8
    });
    wrapper.signaturePad = pad;

    function store() {
      field.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
      wrapper.classList.toggle("signed", !pad.isEmpty());
      if (!pad.isEmpty()) {
        var error = wrapper.querySelector(".error.client");
        if (error) error.remove();
      }
    }

    // the canvas is drawn in device pixels, sized to its box when it gets one (a closed
    // dialog's canvas has none) and again when the box changes (a phone turned around)
    var restored = field.value;
    function fit() {
      var width = canvas.offsetWidth, height = canvas.offsetHeight;
      if (!width || !height) return;
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      if (canvas.width === Math.round(width * ratio) && canvas.height === Math.round(height * ratio)) return;
      var strokes = pad.toData();
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      if (strokes.length) {
        pad.fromData(strokes);
      } else if (restored) {
        // the page came back with an error: the drawing sent is still in the field
        pad.fromDataURL(restored, { ratio: ratio, width: width, height: height }).then(store);
      }
      restored = "";
      store();
    }
    if (typeof ResizeObserver === "function") new ResizeObserver(fit).observe(canvas);
    window.addEventListener("resize", fit);
    fit();

    pad.addEventListener("endStroke", store);
    wrapper.querySelector("[data-signature-clear]").addEventListener("click", function () {
      pad.clear();
      store();
    });
    wrapper.querySelector("[data-signature-undo]").addEventListener("click", function () {
      var strokes = pad.toData();
      strokes.pop();
      pad.fromData(strokes);
      store();
    });
  }

  function setUpAll() {
    document.querySelectorAll("[data-signature-pad]").forEach(setUp);
  }

  // a required signature missing: say so on the pad rather than send the form for nothing
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (!button) return;
    var scope = button.closest("dialog, form");
    var field = scope && scope.querySelector('input[data-signature="required"]');
    if (!field || field.value) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    var wrapper = field.closest("[data-signature-pad]");
    if (wrapper && !wrapper.querySelector(".error.client")) {
      var message = document.createElement("small");
      message.className = "error client";
      message.setAttribute("role", "alert");
      message.textContent = wrapper.getAttribute("data-missing") || "";
      wrapper.appendChild(message);
    }
  }, true);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUpAll);
  else setUpAll();
  window.addEventListener("load", setUpAll); // the pad's bundle may arrive after this file
})();
