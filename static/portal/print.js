// A printout's "Print" button: the browser's own print dialog (no inline script: the CSP).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
