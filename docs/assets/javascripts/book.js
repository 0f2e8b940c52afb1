// A region that scrolls sideways (wide display math, a long code line, a wide table) can be
// reached and scrolled with the keyboard: it joins the tab order when, and only when, it
// overflows at the reader's width. Blocks below the fold are laid out only when they near the
// screen (content-visibility), and solutions only when opened, so each region is watched and
// checked again whenever its size changes.
(function () {
  var SCROLLERS = "div.arithmatex, .md-typeset pre > code, .md-typeset__scrollwrap, .jp-OutputArea-output, .highlight-ipynb";
  function check(el) {
    if (!el.hasAttribute("tabindex") && /auto|scroll/.test(getComputedStyle(el).overflowX) && el.scrollWidth > el.clientWidth + 1) {
      el.setAttribute("tabindex", "0");
    }
  }
  var watch = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(function (entries) {
    entries.forEach(function (e) { check(e.target); });
  });
  function scan() {
    document.querySelectorAll(SCROLLERS).forEach(function (el) {
      if (watch && !el.gdWatched) { el.gdWatched = true; watch.observe(el); }
      check(el);
    });
  }
  function later() { setTimeout(scan, 0); }  // after Material has wrapped the tables
  if (typeof document$ !== "undefined") {
    document$.subscribe(later);
  } else {
    document.addEventListener("DOMContentLoaded", later);
  }
})();
