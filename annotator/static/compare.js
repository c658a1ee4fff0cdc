// The side-by-side view: colour every highlight and legend chip with its stance's colour
// from the project's label scheme. Server-rendered markup only; nothing is inserted here.

const colors = JSON.parse(document.getElementById("stance-colors").textContent);
const FALLBACK = "#888888";

document.querySelectorAll("#compare [data-stance]").forEach((el) => {
  const color = Object.hasOwn(colors, el.dataset.stance) ? colors[el.dataset.stance] : FALLBACK;
  // Highlights are translucent so the text stays readable; nested stretches a bit darker.
  const alpha = el.dataset.fill === "solid" ? "" : el.classList.contains("nested") ? "88" : "4d";
  el.style.backgroundColor = color + alpha;
  if (el.dataset.fill !== "solid") el.style.borderBottomColor = color;
});
document.getElementById("compare").dataset.ready = "true";
