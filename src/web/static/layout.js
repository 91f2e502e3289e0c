// Fitting the page to a phone. Wide tables scroll inside their own box, and say so: each
// scroll box is marked with the sides it has more content on (`data-more="left right"`),
// which the stylesheet fades out, so a cut-off column reads as "swipe" rather than as lost.
// Banners collapse to their one-line heading on narrow screens (see app.css) and open on a
// tap; on wide screens they always show in full.

/** Keeps `data-more` of every `.table-wrap` current as it scrolls, resizes or refills. */
export function markScrollableTables() {
  const observer = new ResizeObserver((entries) => {
    for (const entry of entries) update(entry.target.closest(".table-wrap"));
  });
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    wrap.addEventListener("scroll", () => update(wrap), { passive: true });
    observer.observe(wrap);
    // The table grows and shrinks as rows and columns are redrawn; the box may not.
    for (const child of wrap.children) observer.observe(child);
  }
}

/** @param {Element | null} wrap */
function update(wrap) {
  if (!wrap) return;
  const sides = [];
  // A pixel of slack: zoomed pages scroll to fractional positions.
  if (wrap.scrollLeft > 1) sides.push("left");
  if (wrap.scrollLeft + wrap.clientWidth < wrap.scrollWidth - 1) sides.push("right");
  if (sides.length) wrap.setAttribute("data-more", sides.join(" "));
  else wrap.removeAttribute("data-more");
}

/** The width below which banners collapse; the same as the stylesheet's phone layout. */
const NARROW = window.matchMedia("(max-width: 700px)");

/** Makes each banner's heading a toggle for the rest of it (which only narrow screens hide). */
export function setUpBanners() {
  for (const banner of document.querySelectorAll(".banner")) {
    const heading = banner.querySelector("h2");
    if (!heading) continue;
    heading.classList.add("banner-toggle");
    // Only a toggle where it does something: on wide screens the banner is always open.
    const sync = () => {
      if (NARROW.matches) {
        heading.setAttribute("role", "button");
        heading.setAttribute("tabindex", "0");
        heading.setAttribute("aria-expanded", String(banner.hasAttribute("data-open")));
      } else {
        for (const name of ["role", "tabindex", "aria-expanded"]) heading.removeAttribute(name);
      }
    };
    const toggle = () => {
      if (!NARROW.matches) return;
      banner.toggleAttribute("data-open");
      sync();
    };
    heading.addEventListener("click", toggle);
    heading.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault();
      toggle();
    });
    NARROW.addEventListener("change", sync);
    sync();
  }
}
