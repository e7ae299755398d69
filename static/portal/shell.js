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
