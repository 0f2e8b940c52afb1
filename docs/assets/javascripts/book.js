// A region that scrolls sideways (wide display math, a long code line, a wide table) can be
// reached and scrolled with the keyboard: it joins the tab order when it overflows at the
// reader's width.
//
// Blocks far from the screen are not laid out (content-visibility), and reading a region's
// width there would lay its block out (the cost content-visibility saves). So each region and
// its first child (the deferred block inside it, for display math) are watched, and the region
// is measured once laid out, and again whenever either changes size; all regions are read first
// and written after (a write between two reads would make the browser lay the page out again
// for the second read). Until then, a code block is judged from its text: it may overflow if
// its longest line, at the code font's advance (wide East Asian characters counted twice), is
// wider than two thirds of the text column. The measurement replaces the estimate.
(function () {
  var SCROLLERS = "div.arithmatex, .md-typeset pre > code, .md-typeset__scrollwrap, .jp-OutputArea-output, .highlight-ipynb";
  var CODE = ".md-typeset pre > code, .highlight-ipynb";
  var WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/g;
  var advance = null;

  function overflows(el) {
    return /auto|scroll/.test(getComputedStyle(el).overflowX) && el.scrollWidth > el.clientWidth + 1;
  }
  function check(regions) {
    var verdicts = regions.map(overflows);
    regions.forEach(function (el, i) {
      if (verdicts[i] && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
      else if (!verdicts[i] && el.gdEstimated) el.removeAttribute("tabindex");
      el.gdEstimated = false;
    });
  }

  function charAdvance() {  // one laid-out probe in the code font, once per page load
    if (advance === null) {
      var probe = document.createElement("code"), host = document.querySelector(".md-typeset") || document.body;
      probe.textContent = "0000000000";
      probe.style.cssText = "position: absolute; visibility: hidden; white-space: pre; padding: 0";
      host.appendChild(probe);
      advance = probe.getBoundingClientRect().width / 10;
      host.removeChild(probe);
    }
    return advance;
  }
  function longestLine(el) {
    return el.textContent.split("\n").reduce(function (most, line) {
      return Math.max(most, line.length + (line.match(WIDE) || []).length);
    }, 0);
  }
  function estimate(codes) {
    var widths = codes.map(function (el) { return (el.closest("article") || document.body).clientWidth; });
    codes.forEach(function (el, i) {
      if (!el.hasAttribute("tabindex") && longestLine(el) * charAdvance() > widths[i] * 2 / 3) {
        el.setAttribute("tabindex", "0");
        el.gdEstimated = true;
      }
    });
  }

  // A ResizeObserver reports each watched element once laid out, and again at each change of
  // size, after layout and in one batch: reading there costs no extra layout.
  var watch = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(function (entries) {
    var regions = new Set();
    entries.forEach(function (e) { e.target.gdRegions.forEach(function (el) { regions.add(el); }); });
    check(Array.from(regions));
  });
  function scan() {
    var regions = Array.prototype.slice.call(document.querySelectorAll(SCROLLERS)).filter(function (el) {
      return !el.gdWatched;
    });
    if (!watch) { check(regions); return; }
    estimate(regions.filter(function (el) { return el.matches(CODE); }));
    regions.forEach(function (el) {
      el.gdWatched = true;
      [el, el.firstElementChild].forEach(function (target) {
        if (!target) return;
        target.gdRegions = (target.gdRegions || []).concat([el]);
        watch.observe(target);
      });
    });
  }
  // Material takes a code block's tabindex away on screens without hover (phones) as it mounts
  // the block, when the block nears the screen: a keyboard can be attached to a phone too.
  if (typeof MutationObserver !== "undefined") {
    new MutationObserver(function (records) {
      check(records.map(function (r) { return r.target; }).filter(function (el) {
        return el.gdWatched && !el.hasAttribute("tabindex");
      }));
    }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ["tabindex"]});
  }
  function later() { setTimeout(scan, 0); }  // after Material has wrapped the tables
  if (typeof document$ !== "undefined") {
    document$.subscribe(later);
  } else {
    document.addEventListener("DOMContentLoaded", later);
  }
})();
