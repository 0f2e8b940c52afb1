// Render math with the vendored KaTeX, on first load and after every
// instant-navigation page swap (Material's document$ observable).
// Markdown pages: pymdownx.arithmatex wraps \(...\) and \[...\] in .arithmatex.
// Lab notebooks: Markdown cells keep their TeX, delimited by $...$, $$...$$, \(...\) or \[...\].
(function () {
  var TEX = [
    { left: "\\(", right: "\\)", display: false },
    { left: "\\[", right: "\\]", display: true },
  ];
  var NOTEBOOK = [{ left: "$$", right: "$$", display: true }, { left: "$", right: "$", display: false }].concat(TEX);
  function render() {
    document.querySelectorAll(".arithmatex").forEach(function (el) {
      renderMathInElement(el, { delimiters: TEX, throwOnError: false });
    });
    document.querySelectorAll(".jupyter-wrapper .jp-MarkdownOutput").forEach(function (el) {
      renderMathInElement(el, { delimiters: NOTEBOOK, throwOnError: false });
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(render);
  } else {
    document.addEventListener("DOMContentLoaded", render);
  }
})();
