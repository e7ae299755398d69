// The CRM's pipeline board (templates/crm/sales/pipeline.html): cards dragged between the
// stage columns with SortableJS; a drop POSTs the card's new stage and place to its move
// endpoint (with the CSRF token) and, when the server refuses it (a field the stage needs),
// the card snaps back and shows the server's message, already in the user's language. Each
// card's "move to" form does the same from the keyboard (and works without this script).
import Sortable from "sortablejs";
import "./kanban.css";

function csrfToken(form) {
  const input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function askLostReason() {
  const dialog = document.querySelector("[data-lost-dialog]");
  if (!dialog || typeof dialog.showModal !== "function") {
    return Promise.resolve(window.prompt("") || null);
  }
  const input = dialog.querySelector("[data-lost-input]");
  input.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null),
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
}

// The place to send: the position of the card that now follows the moved one (it takes that
// place and the rest make room), or one past the card before it, or 0 in an empty column.
function positionOf(card) {
  const next = card.nextElementSibling;
  if (next && next.dataset.position !== undefined) return Number(next.dataset.position);
  const previous = card.previousElementSibling;
  if (previous && previous.dataset.position !== undefined) {
    return Number(previous.dataset.position) + 1;
  }
  return null;
}

function showError(card, message) {
  const slot = card.querySelector("[data-move-error]");
  if (!slot) return;
  slot.textContent = message;
  slot.hidden = !message;
}

function updateCounts(board) {
  board.querySelectorAll(".sales-column").forEach((column) => {
    const count = column.querySelector("[data-count]");
    const list = column.querySelector("[data-stage]");
    if (count && list && count.dataset.start === undefined) count.dataset.start = count.textContent;
    if (count && list) {
      const delta = list.children.length - Number(list.dataset.initial || list.children.length);
      count.textContent = String(Number(count.dataset.start) + delta);
    }
  });
}

async function sendMove(card, stage, position, lostReason) {
  const form = card.querySelector("form[data-move]");
  const body = new URLSearchParams();
  body.set("stage", stage);
  if (position !== null && position !== undefined) body.set("position", String(position));
  if (lostReason) body.set("lost_reason", lostReason);
  const response = await fetch(card.dataset.moveUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/x-www-form-urlencoded",
      "X-CSRFToken": csrfToken(form),
    },
    body,
  });
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  if (!response.ok || !answer.ok) {
    const failed = document.querySelector("[data-board]")?.dataset.failed || "";
    throw new Error(answer.message || failed);
  }
  return answer;
}

function settle(card, answer) {
  card.dataset.position = String(answer.position);
  const probability = card.querySelector("[data-probability]");
  if (probability) probability.textContent = String(answer.probability);
  const select = card.querySelector("[data-move-stage]");
  if (select) select.value = answer.stage;
  showError(card, "");
  card.classList.remove("sales-card-busy");
}

function init() {
  const board = document.querySelector("[data-board]");
  if (!board) return;
  board.querySelectorAll("[data-stage]").forEach((list) => {
    list.dataset.initial = String(list.children.length);
  });
  updateCounts(board);

  board.querySelectorAll("[data-stage]").forEach((list) => {
    Sortable.create(list, {
      group: "pipeline",
      animation: 150,
      filter: "select, input, button, a, label",
      preventOnFilter: false,
      onEnd: async (event) => {
        const card = event.item;
        const from = event.from;
        const to = event.to;
        if (from === to && event.oldIndex === event.newIndex) return;
        const stage = to.dataset.stage;
        let reason = null;
        if (stage === "lost" && from !== to) {
          reason = await askLostReason();
          if (reason === null) {
            from.insertBefore(card, from.children[event.oldIndex] || null);
            return;
          }
        }
        card.classList.add("sales-card-busy");
        try {
          const answer = await sendMove(card, stage, positionOf(card), reason);
          settle(card, answer);
        } catch (error) {
          // refused: back where it was, with the reason
          from.insertBefore(card, from.children[event.oldIndex] || null);
          card.classList.remove("sales-card-busy");
          showError(card, error.message);
        }
        updateCounts(board);
      },
    });
  });

  // the keyboard's (and the script-less) way: each card's "move to" form
  board.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-move]");
    if (!form) return;
    event.preventDefault();
    const card = form.closest(".sales-card");
    const stage = form.querySelector("[data-move-stage]").value;
    const reason = form.querySelector("[data-move-reason]")?.value.trim() || null;
    const target = board.querySelector(`[data-stage="${stage}"]`);
    card.classList.add("sales-card-busy");
    try {
      const first = target ? target.firstElementChild : null;
      const position = first && first !== card ? Number(first.dataset.position) : null;
      const answer = await sendMove(card, stage, position, reason);
      if (target && card.parentElement !== target) target.insertBefore(card, target.firstChild);
      settle(card, answer);
      updateCounts(board);
      form.querySelector("[data-move-stage]").focus();
    } catch (error) {
      card.classList.remove("sales-card-busy");
      showError(card, error.message);
      form.querySelector("[data-move-stage]").focus();
    }
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
