// The Documents tab's cited pages (vlkit.serve.ui_pages): a click on a page opens it large (at least its
// own resolution and twice the panel's width, scrollable); a click on it again, or Escape, closes it.
const close = () => {
  const open = element.querySelector("figure.zoomed");
  if (open) open.classList.remove("zoomed");
  return open;
};
element.addEventListener("click", (event) => {
  const sheet = event.target.closest(".vlkit-sheet");
  if (!sheet) return;
  const figure = sheet.closest("figure");
  if (close() === figure) return;
  const img = figure.querySelector("img");
  const width = Math.max(img.naturalWidth, 2 * sheet.getBoundingClientRect().width);
  figure.style.setProperty("--zoom-width", `${Math.round(width)}px`);
  figure.classList.add("zoomed");
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") close();
});
