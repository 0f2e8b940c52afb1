"""MkDocs hook: the conventions every page of the book relies on.

Python blocks marked ``exec="on"`` (markdown-exec) get, unless they set them:

* ``session="<lang>-<slug>"``: blocks of one page share variables; pages and
  languages never share any (markdown-exec sessions are process-global, and
  mkdocs-static-i18n builds both languages in one process);
* ``id="<lang>/<slug>#<n>"``: a failing block is named in the build log by page,
  language and position;
* ``source="above"``: readers see the code above its output (``source="none"``
  hides it).

Jupyter pages: mkdocs-static-i18n would copy ``.ipynb`` files as static files;
this hook hands them back to mkdocs-jupyter as pages (upstream issue #198).
"""

from __future__ import annotations

import logging
import re


class _DropMessage(logging.Filter):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


log = logging.getLogger("mkdocs.hooks.book")

# Jupyter labs: make MkDocs (and so mkdocs-static-i18n, which rebuilds the file list per
# language) treat notebooks as pages. Without this, the i18n plugin copies `x.ipynb` and
# `x.zh.ipynb` as static files instead of letting mkdocs-jupyter render them
# (mkdocs-static-i18n issue #198).
import mkdocs.utils  # noqa: E402

if ".ipynb" not in mkdocs.utils.markdown_extensions:
    mkdocs.utils.markdown_extensions = (*mkdocs.utils.markdown_extensions, ".ipynb")

# nbconvert's template loads MathJax, Mermaid and RequireJS from CDNs; the book renders
# notebook math with its vendored KaTeX and needs none of them.
EXTERNAL_SCRIPT = re.compile(
    r"<script[^>]*\bsrc=\"(?:(?:https?:)?//[^\"]*)?\"[^>]*>\s*</script>"
    r"|<script[^>]*type=\"text/x-mathjax-config\"[^>]*>.*?</script>"
    r"|<script[^>]*>(?:(?!</script>).)*?(?:MathJax|mermaid|https?://)(?:(?!</script>).)*?</script>",
    re.S,
)

# mkdocs-static-i18n warns that its *server-side* contextual language links are not
# refreshed by instant navigation. Material's own language selector resolves the
# counterpart page client-side from the sitemap, which the browser tests check.
logging.getLogger("mkdocs.plugins.mkdocs_static_i18n.reconfigure").addFilter(
    _DropMessage("contextual link is not compatible with theme.features = navigation.instant")
)

FENCE = re.compile(r'^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})\s*(?P<lang>python|py)\b(?P<attrs>[^\n]*)$', re.M)
EXEC = re.compile(r'\bexec="(?:1|on|true|yes)"')


def page_lang_and_slug(page) -> tuple[str, str]:
    """The page's language (from its output path) and slug, e.g. ``("zh", "gradient-descent")``."""
    dest = page.file.dest_uri
    lang = "zh" if dest.startswith("zh/") else "en"
    src = page.file.src_uri
    slug = re.sub(r"(\.zh)?\.(md|ipynb|py)$", "", src)
    slug = re.sub(r"(^|/)index$", r"\1", slug).strip("/") or "index"
    return lang, slug


def add_exec_defaults(markdown: str, lang: str, slug: str) -> str:
    """Add ``session``, ``id`` and ``source`` to every executed Python fence of a page."""
    count = 0

    def fix(m: re.Match) -> str:
        nonlocal count
        attrs = m.group("attrs")
        if not EXEC.search(attrs):
            return m.group(0)
        count += 1
        extra = []
        if "session=" not in attrs:
            extra.append(f'session="{lang}-{slug}"')
        if " id=" not in f" {attrs}":
            extra.append(f'id="{lang}/{slug}#{count}"')
        if "source=" not in attrs:
            extra.append('source="above"')
        attrs = attrs.replace('source="none"', "")
        return f"{m.group('indent')}{m.group('ticks')}{m.group('lang')}{attrs} {' '.join(extra)}".rstrip()

    return FENCE.sub(fix, markdown)


def on_config(config):
    # Both languages are built in this process and run the same experiments: let
    # gdbook's content-keyed cache compute each one once (gdbook/cache.py).
    import gdbook.cache
    import torch

    gdbook.cache.enable()
    # The book's tensors are small: one thread is faster than two that contend for the
    # cores, and it fixes the order of floating-point reductions.
    torch.set_num_threads(1)
    return config


def on_post_build(config):
    import gdbook.cache

    s = gdbook.cache.stats()
    log.info(f"gdbook cache: {s['hits']} hits, {s['misses']} misses, {s['uncached']} uncached calls")


DOWNLOAD = {"en": "Download this notebook (.ipynb)", "zh": "下载本 Notebook（.ipynb）"}


def on_page_content(html, page, config, files):
    """Notebook pages: drop nbconvert's CDN scripts, add the download button."""
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    lang, _ = page_lang_and_slug(page)
    name = page.file.src_uri.rsplit("/", 1)[-1]
    button = (
        f'<p class="gd-download"><a class="md-button md-button--primary" href="{name}" download>'
        f"{DOWNLOAD[lang]}</a></p>"
    )
    html = EXTERNAL_SCRIPT.sub("", html)
    head = re.search(r"</h1>", html)
    return html[: head.end()] + button + html[head.end():] if head else button + html


def on_page_markdown(markdown, page, config, files):
    lang, slug = page_lang_and_slug(page)
    return add_exec_defaults(markdown, lang, slug)


# ---------------------------------------------------------------------------
# Language switch (Material + mkdocs-static-i18n + navigation.instant)
# ---------------------------------------------------------------------------
# 1. Material fetches "sitemap.xml" next to every <link rel="alternate">; the i18n plugin's
#    links are per page, so every page caused two 404s (console errors). The sitemap already
#    carries the hreflang alternates, so the head links are dropped.
# 2. Instant navigation does not replace the header, so after one click inside the book the
#    language links pointed at the first page's counterpart, and following them by instant
#    navigation kept <html lang> and the search language of the old page. The links are
#    recomputed for the current page after every navigation and load the page in full.
_HEAD_ALTERNATE = re.compile(r'[ \t]*<link rel="alternate" href="[^"]*" hreflang="[^"]*">\n?')
_SELECT_LINK = re.compile(r'(<a href="[^"]*" hreflang="[^"]*" class="md-select__link")>')
_LANG_SWITCH_JS = """<script>
(function () {
  function update() {
    var root = new URL(__md_scope).pathname, path = location.pathname;
    var rest = (path.indexOf(root) === 0 ? path.slice(root.length) : path).replace(/^zh(\\/|$)/, "");
    document.querySelectorAll("a.md-select__link[hreflang]").forEach(function (a) {
      a.href = root + (a.hreflang === "en" ? "" : a.hreflang + "/") + rest;
    });
  }
  if (typeof document$ !== "undefined") { document$.subscribe(update); } else { update(); }
})();
</script>
"""


def on_post_page(output, page, config):
    output = _HEAD_ALTERNATE.sub("", output)
    output = _SELECT_LINK.sub(r'\1 target="_self">', output)
    return output.replace("</body>", _LANG_SWITCH_JS + "</body>", 1)
