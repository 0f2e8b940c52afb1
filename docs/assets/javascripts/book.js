// A region that scrolls sideways (wide display math, a long code line, a wide table) can be
// reached and scrolled with the keyboard: it joins the tab order when, and only when, it
// overflows at the reader's width. Runs on every page load and instant navigation.
(function () {
  var SCROLLERS = "div.arithmatex, .md-typeset pre > code, .md-typeset__scrollwrap, .jp-OutputArea-output, .highlight-ipynb";
  function focusable() {
    document.querySelectorAll(SCROLLERS).forEach(function (el) {
      var style = getComputedStyle(el);
      var scrolls = /auto|scroll/.test(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
      if (scrolls && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
      }
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(focusable);
  } else {
    document.addEventListener("DOMContentLoaded", focusable);
  }
  window.addEventListener("resize", focusable);
})();
