// The shell's menu button (templates/base.html): on a narrow screen the navigation folds
// into it. The button says whether the menu is open (aria-expanded); Escape closes it and
// gives the focus back to the button, as does a click or a tap outside it.
(() => {
  const button = document.querySelector(".topbar .navtoggle");
  const nav = document.getElementById("mainnav");
  if (!button || !nav) return;

  const setOpen = (open, { focusButton = false } = {}) => {
    button.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("open", open);
    if (open) {
      const current = nav.querySelector('[aria-current="page"]') || nav.querySelector("a");
      if (current) current.focus();
    } else if (focusButton) {
      button.focus();
    }
  };

  button.addEventListener("click", () => setOpen(button.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && nav.classList.contains("open")) setOpen(false, { focusButton: true });
  });
  document.addEventListener("click", (event) => {
    if (!nav.classList.contains("open")) return;
    if (nav.contains(event.target) || button.contains(event.target)) return;
    setOpen(false);
  });
  // back on a wide screen the navigation is a bar again: forget an open menu
  window.matchMedia("(min-width: 901px)").addEventListener("change", (event) => {
    if (event.matches) setOpen(false);
  });
})();

// The bar's groups (客户管理, 管理 …): a button opens its links below it; another group's
// button, Escape (the focus back on the button) or a click outside closes it. In the folded
// menu of a narrow screen every group's links are shown, and the buttons are headings.
(() => {
  const groups = [...document.querySelectorAll(".mainnav .navgroup")];
  if (!groups.length) return;
  const wide = window.matchMedia("(min-width: 901px)");
  const close = (group, { focusButton = false } = {}) => {
    const button = group.querySelector(".navgroup-toggle");
    group.classList.remove("open");
    button.setAttribute("aria-expanded", "false");
    if (focusButton) button.focus();
  };
  for (const group of groups) {
    const button = group.querySelector(".navgroup-toggle");
    button.addEventListener("click", () => {
      if (!wide.matches) return;
      const open = !group.classList.contains("open");
      for (const other of groups) if (other !== group) close(other);
      group.classList.toggle("open", open);
      button.setAttribute("aria-expanded", String(open));
      if (open) group.querySelector(".navgroup-menu a")?.focus();
    });
    group.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && group.classList.contains("open")) {
        event.stopPropagation();
        close(group, { focusButton: true });
      }
    });
  }
  document.addEventListener("click", (event) => {
    for (const group of groups) if (!group.contains(event.target)) close(group);
  });
  // a group opened by the focus before the script ran stays open
  for (const group of groups) {
    if (group.contains(document.activeElement) && wide.matches) {
      group.classList.add("open");
      group.querySelector(".navgroup-toggle").setAttribute("aria-expanded", "true");
    }
  }
  document.getElementById("mainnav").dataset.ready = "";
})();
