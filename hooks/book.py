"""MkDocs hook: the conventions every page of the book relies on.

Python blocks marked ``exec="on"`` (markdown-exec) get, unless they set them:

* ``session="<lang>-<slug>"``: blocks of one page share variables; pages and
  languages never share any (markdown-exec sessions are process-global, and
  mkdocs-static-i18n builds both languages in one process);
* ``id="<lang>/<slug>#<n>"``: a failing block is named in the build log by page,
  language and position;
* ``source="above"``: readers see the code above its output (``source="none"``
  hides it).

Inline values: `` `{python} expr` `` in prose is evaluated in the page's session right after
the executed block above it, and its value replaces the code span (``hooks/inline.py``).

Figures: a ``/// figure | fig:name`` block below the block that prints a figure gives its alt
text and its caption as prose; the build numbers it per chapter and moves both into the figure;
``[](#fig:name)`` links to it; ``fold="1"`` folds a block's plotting code (``hooks/figcaptions.py``).
A lab writes the same block at the start of the Markdown cell below the code cell that shows the
figure (numbered per lab).

Under ``mkdocs serve``, a page built again runs only its blocks whose code, or the code
before them in their session, changed (``hooks/execution.py``); the others give their last output, and
an inline value is evaluated again only if it or the code above it changed.

Jupyter pages: mkdocs-static-i18n would copy ``.ipynb`` files as static files;
this hook hands them back to mkdocs-jupyter as pages (upstream issue #198).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from types import SimpleNamespace


def _sibling(name: str):
    """The module ``hooks/<name>.py``: one module per concern, this one wires them to MkDocs.
    (Loaded by path: MkDocs puts this folder on ``sys.path`` only while it loads this file, and
    the tests load it by path too.)"""
    import importlib.util
    import sys

    qualified = f"gdbook_hooks_{name}"
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module  # before exec: dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[qualified]


inline = _sibling("inline")  # `{python} expr` in prose
glossary = _sibling("glossary")  # glossary.yml: the glossary pages' table, the terms test
typeset = _sibling("typeset")  # math typeset at build as MathML (Temml in an embedded V8)
figures = _sibling("figures")  # figures as same-site SVG files
search = _sibling("search")  # the search index per language, fetched at the first intent to search
assets = _sibling("assets")  # theme files no reader can use, left out
downloads = _sibling("downloads")  # gdbook's wheel and sdist, published with the site
bibliography = _sibling("bibliography")  # [@key] citations and reference lists from references.bib
numbering = _sibling("numbering")  # \label{eq:...} -> \tag{3.2}; \eqref{eq:...} -> a link
execution = _sibling("execution")  # markdown-exec's sessions; block outputs remembered for `serve`
labs = _sibling("labs")  # the labs executed in the background
page_lang_and_slug = execution.page_lang_and_slug
figcaptions = _sibling("figcaptions")  # /// figure captions in prose, numbered; [](#fig:...) -> a link; fold="1"
tables = _sibling("tables")  # a table's label column (empty first header) -> row headers; its holders marked
highlight = _sibling("highlight")  # code blocks without the spans that change nothing on screen
kernels = _sibling("kernels")  # the labs' kernels forked from one warm process
ahead = _sibling("ahead")  # pages' code run in forked processes while the main process renders others
notebook_css = _sibling("notebook_css")  # the labs' stylesheet without the rules no lab matches
mathfont = _sibling("mathfont")  # each page's subset of the math font, declared in its head
TEMML_JS = Path(__file__).with_name("temml") / "temml.min.js"
MATH_FONTS = mathfont.MathFonts()


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
import mkdocs.plugins  # noqa: E402
import mkdocs.utils  # noqa: E402
from mkdocs.structure.files import Files  # noqa: E402

if ".ipynb" not in mkdocs.utils.markdown_extensions:
    mkdocs.utils.markdown_extensions = (*mkdocs.utils.markdown_extensions, ".ipynb")

# nbconvert's template loads MathJax, Mermaid and RequireJS from CDNs; the book renders
# notebook math at build (hooks/typeset.py) and needs none of them.
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

def _first_language(config) -> bool:
    """True in the build of the default language, the one that starts a (re)build."""
    i18n = config.plugins.get("i18n")
    return i18n is None or not i18n.building


def _prepare_lab(nb, path: Path) -> None:
    """A lab as nbconvert is to see it: its figure captions written in its Markdown cells
    (figcaptions.notebook); problems fail the strict build."""
    lang = "zh" if path.name.endswith(".zh.ipynb") else "en"
    slug = f"labs/{path.name.split('.')[0]}"
    for problem in figcaptions.notebook(nb, f"{slug}.ipynb", lang):
        log.warning(f"{lang}/{slug}: {problem}")


def _start_labs(config, paths) -> None:
    jupyter = config.plugins["mkdocs-jupyter"]
    labs.LABS.open(workers=1, kernel_manager=kernels.kernel_manager if kernels.ZYGOTE.process else None)
    for path in sorted(paths, key=lambda p: (p.name.count("."), p.as_posix())):  # x.ipynb before x.zh.ipynb
        labs.LABS.start(path, Path(config.docs_dir), jupyter.config["kernel_name"], jupyter.config["allow_errors"])


def _executes_labs(config) -> bool:
    jupyter = config.plugins.get("mkdocs-jupyter")
    return jupyter is not None and jupyter.config["execute"]


def on_startup(command, dirty):
    if ahead.wanted(command):
        ahead.AHEAD.open()
    if kernels.wanted(command):  # its imports run while the build starts; idle if no lab is executed
        kernels.ZYGOTE.open(labs.PRIORITY)


def on_files(files, config):
    # MkDocs renders pages in the order of `files`: the labs last, so their kernels get the
    # most time (the navigation does not depend on this order).
    is_lab = [f.src_uri.endswith(".ipynb") for f in files]
    return Files([f for f, lab in zip(files, is_lab) if not lab] + [f for f, lab in zip(files, is_lab) if lab])


def on_config(config):
    if _first_language(config):
        downloads.start(config)
    if config.plugins.get("mkdocs-jupyter") is not None:
        labs.patch_nb2html(prepare=_prepare_lab)
    if _executes_labs(config) and _first_language(config):
        docs = Path(config.docs_dir)
        patterns = config.plugins["mkdocs-jupyter"].config["include"]
        _start_labs(config, sorted({p for pattern in patterns for p in docs.glob(pattern) if p.suffix == ".ipynb"}))
    # Both languages are built in this process and run the same experiments: let
    # gdbook's content-keyed cache compute each one once (gdbook/cache.py).
    import gdbook.cache
    import torch

    gdbook.cache.enable()
    # The book's tensors are small: one thread is faster than two that contend for the
    # cores, and it fixes the order of floating-point reductions.
    torch.set_num_threads(1)
    return config


# A build ends holding about a million objects (both languages' pages, markdown-exec sessions,
# torch, matplotlib). At exit Python runs full garbage collections over all of them, which took
# about 4 s; the process ends anyway, so the collector is told to leave them alone.
def on_shutdown():
    import gc

    ahead.AHEAD.close()
    labs.LABS.close()  # the end of `mkdocs build`, or of `mkdocs serve` and all its rebuilds
    kernels.ZYGOTE.close()
    gc.freeze()


@mkdocs.plugins.event_priority(-200)  # after mkdocs-static-i18n's, which builds the other languages
def on_post_build(config):
    import gdbook.cache

    i18n = config.plugins.get("i18n")
    if i18n is None or not i18n.building:  # the end of the whole build, every language done
        s = gdbook.cache.stats()
        log.info(f"gdbook cache: {s['hits']} hits, {s['misses']} misses, {s['uncached']} uncached calls")
        if ahead.AHEAD.enabled:
            a = ahead.AHEAD
            log.info(f"run ahead: {a.served} pages in {a.forked} child processes, {a.rerun} of their blocks run again "
                     f"({a.cpu:.1f} s of CPU in child processes; the main process waited {a.waited:.1f} s for them)")
        z = kernels.ZYGOTE
        if z.process is not None or z.fallbacks:
            log.info(f"lab kernels: {z.forked} forked from a warm process"
                     + "".join(f"; started the plain way: {why}" for why in z.fallbacks))
        sizes = search.split(Path(config.site_dir))
        log.info("search index per language: " + ", ".join(f"{k} {v:,} B" for k, v in sizes.items()))
        assets.prune(Path(config.site_dir), list(search.LANGS))
        for name, before, after in notebook_css.prune_site(Path(config.site_dir)):
            log.info(f"labs' stylesheet {name}: {before:,} -> {after:,} B (rules no lab matches left out)")
        downloads.write(config)


DOWNLOAD = {"en": "Download this notebook (.ipynb)", "zh": "下载本 Notebook（.ipynb）"}


def on_page_content(html, page, config, files):
    """Notebook pages: drop nbconvert's CDN scripts, add the download button. Every page: set the
    figures aside while the search plugin indexes the page (see ``_hide_figures``)."""
    if page.file.src_uri.endswith(".ipynb"):
        html = labs.heading_ids(_notebook_page(html, page, config), page.toc)
    html = _inline_values(html, page)
    lang, slug = page_lang_and_slug(page)
    if lang == "en" and page.file.src_uri.endswith(".md"):
        _run_twin_ahead(page, config)
    if hasattr(page, "gd_runs"):  # a page run ahead: did this process have to run any of its blocks?
        ahead.AHEAD.rerun += execution.installed().runs - page.gd_runs
    if page.file.src_uri.endswith((".md", ".ipynb")):
        attach = figcaptions.attach_lab if page.file.src_uri.endswith(".ipynb") else figcaptions.attach
        html, problems = attach(html, lang)
        for problem in problems:
            log.warning(f"{lang}/{slug}: {problem}")
        html = tables.mark_holders(tables.row_headers(html))
    if page.file.src_uri.endswith(".md"):
        html = highlight.plain_names(html)
    return _hide_figures(html, page)


def _twin(page, config):
    """The Chinese twin of English page ``page`` as the hook needs it, and its source path."""
    src = page.file.src_uri[: -len(".md")] + ".zh.md"
    return SimpleNamespace(file=SimpleNamespace(src_uri=src, dest_uri="zh/" + page.file.dest_uri)), Path(config.docs_dir, src)


def _has_code(path: Path) -> bool:
    return path.exists() and bool(execution.EXEC.search(path.read_text(encoding="utf-8")))


def _run_twin_ahead(page, config) -> None:
    """Queue the Chinese twin of English page ``page`` to run in a child process (hooks/ahead.py),
    unless a child has run it already with the English page."""
    twin, path = _twin(page, config)
    name = "-".join(page_lang_and_slug(twin))
    if ahead.AHEAD.enabled and not ahead.AHEAD.promised(name) and _has_code(path):
        ahead.AHEAD.add(name, lambda: _outputs(twin, path, config))


def on_nav(nav, config, files):
    """Before the English pages are read (their code runs then): every one with code, and its
    Chinese twin, is a page pair a child process may run (hooks/ahead.py)."""
    if ahead.AHEAD.enabled and _first_language(config):
        for file in files.documentation_pages():
            if not file.src_uri.endswith(".md") or file.src_uri.endswith(".zh.md"):
                continue
            path = Path(config.docs_dir, file.src_uri)
            if _has_code(path):
                page = SimpleNamespace(file=file)
                twin, twin_path = _twin(page, config)
                pages = [(page, path)] + ([(twin, twin_path)] if _has_code(twin_path) else [])
                names = tuple("-".join(page_lang_and_slug(p)) for p, _ in pages)
                ahead.AHEAD.add_spare(names, lambda pages=pages: ((
                    "-".join(page_lang_and_slug(p)), _outputs(p, q, config)) for p, q in pages))
    return nav


def _outputs(page, path: Path, config) -> dict:
    """The outputs of page ``page``'s blocks and inline values, by chain digest (in a child process)."""
    import markdown

    name = "-".join(page_lang_and_slug(page))
    text = on_page_markdown(path.read_text(encoding="utf-8"), page, config, None)
    markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs).convert(text)
    return execution.installed().now.get(name, {})


def _inline_values(html: str, page) -> str:
    """Put the page's inline values in place of their tokens; report the ones that failed."""
    lang, slug = page_lang_and_slug(page)
    blocks = execution.installed()
    name = f"{lang}-{slug}"
    values = blocks.values.get(name, {})
    for item in blocks.inline.get(name, []):
        value = values.get(item.token)
        if value is None or isinstance(value, execution.Failed):
            why = value or "not evaluated (a block above it failed, or it is not below any executed block)"
            log.warning(f"{lang}/{slug}, line {item.line}: inline value `{item.expr}`: {why}")
    return inline.substitute(html, {k: v for k, v in values.items() if not isinstance(v, execution.Failed)})


# The search plugin runs every page through Python's HTMLParser, which takes as long over the
# thousands of <path> elements of a page's inline SVG figures as over all the rest; the figures
# hold no text to index (labels are drawn as paths). They are set aside before indexing and
# put back right after, before the page is rendered into its template.
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_HIDDEN = "<svg data-gd-hidden></svg>"


def _hide_figures(html: str, page) -> str:
    page.gd_figures = _SVG.findall(html)
    return _SVG.sub(_HIDDEN, html) if page.gd_figures else html


@mkdocs.plugins.event_priority(-100)  # after the search plugin's
def on_page_context(context, page, config, nav):
    """After the search plugin has indexed the page (raw TeX, no figures): put the SVGs back,
    typeset the math, and move the figures to files."""
    hidden = iter(getattr(page, "gd_figures", ()))
    page.gd_figures = []
    html = page.content
    if "data-gd-hidden" in html:
        html = re.sub(re.escape(_HIDDEN), lambda _: next(hidden), html)
    lang, slug = page_lang_and_slug(page)
    errors: list[str] = []
    typeset_page = typeset.notebook if page.file.src_uri.endswith(".ipynb") else typeset.page
    html = typeset_page(html, _temml(), f"{lang}/{slug}", errors)
    for e in errors:
        log.warning(e)
    page.content = figures.extract(html, Path(config.site_dir), "../" * page.url.count("/"))
    return context


_TEMML = []


def _temml():
    """The build's one Temml (started at the first page with math)."""
    if not _TEMML:
        _TEMML.append(typeset.Temml(TEMML_JS))
    return _TEMML[0]


def _notebook_page(html: str, page, config) -> str:
    lang, _ = page_lang_and_slug(page)
    name = page.file.src_uri.rsplit("/", 1)[-1]
    button = (
        f'<p class="gd-download"><a class="md-button md-button--primary" href="{name}" download>'
        f"{DOWNLOAD[lang]}</a></p>"
    )
    button += downloads.lab_links(lang, page.url)
    html = EXTERNAL_SCRIPT.sub("", _share_notebook_css(html, page, config))
    head = re.search(r"</h1>", html)
    return html[: head.end()] + button + html[head.end():] if head else button + html


# nbconvert inlines ~590 KB of JupyterLab and Pygments CSS into every notebook page (plus a
# Python list repr of the Pygments CSS, a mkdocs-jupyter slip, dropped here). The hook moves
# it into one stylesheet, named by its content, and links it instead (after the build,
# notebook_css prunes it to the rules a lab can match). The <style> elements of the figures'
# inline SVG stay where they are.
_STYLE = re.compile(r"<style(?:\s[^>]*)?>(.*?)</style>\s*", re.S)


def _share_notebook_css(html: str, page, config) -> str:
    figures = [m.span() for m in _SVG.finditer(html)]
    blocks = [m for m in _STYLE.finditer(html) if not any(a <= m.start() < b for a, b in figures)]
    css = "\n".join(m.group(1).strip() for m in blocks if not m.group(1).strip().startswith("["))
    if not css:
        return html
    name = f"assets/stylesheets/notebook-{hashlib.sha256(css.encode()).hexdigest()[:10]}.css"
    target = Path(config.site_dir, name)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(css + "\n", encoding="utf-8")
    for m in reversed(blocks):
        html = html[: m.start()] + html[m.end():]
    return f'<link rel="stylesheet" href="{"../" * page.url.count("/")}{name}">' + html


def _equation_index(config) -> dict:
    """``{label: (chapter source, number)}`` from the English chapters (numbering.index)."""
    return _indexes(config)[0]


def _figure_index(config) -> dict:
    """``{label: (page source, number)}`` from the English pages of the nav (figcaptions.index)."""
    return _indexes(config)[1]


_INDEXES: dict = {}


def _indexes(config) -> tuple[dict, dict]:
    """Both indexes, computed again only when a page of the nav changed (every page asks for them)."""
    docs = Path(config.docs_dir)
    pages = [src for src in _nav_pages(config.nav) if (docs / src).exists()]
    key = (repr(config.nav), tuple((src, (docs / src).stat().st_mtime_ns) for src in pages))
    if key not in _INDEXES:
        chapters = numbering.chapter_numbers(config.nav)
        sources = {src: (docs / src).read_text(encoding="utf-8") for src in pages}
        _INDEXES.clear()
        _INDEXES[key] = (numbering.index({s: t for s, t in sources.items() if s in chapters}, chapters),
                         figcaptions.index(sources, chapters))
    return _INDEXES[key]


def _nav_pages(items) -> list[str]:
    """The Markdown pages of the nav, in order."""
    out = []
    for item in items or []:
        if isinstance(item, str):
            out += [item] if item.endswith(".md") else []
        elif isinstance(item, dict):
            for value in item.values():
                out += _nav_pages(value if isinstance(value, list) else [value])
    return out


def on_page_markdown(markdown, page, config, files):
    """The page's Markdown as markdown-exec is to see it; its sessions start (empty)."""
    from mkdocs.exceptions import PluginError

    lang, slug = page_lang_and_slug(page)
    markdown = downloads.fill(markdown, page.file.src_uri)
    if slug == "glossary":
        root = Path(config.config_file_path).parent
        terms = glossary.load(root / "glossary.yml")
        markdown = glossary.page(markdown, terms, Path(config.docs_dir), glossary.chapters(config.nav), lang)
    if bibliography.USES.search(markdown):
        root = Path(config.config_file_path).parent
        markdown, problems = bibliography.process(markdown, bibliography.load(root / "references.bib"), lang)
        for problem in problems:
            log.warning(f"{lang}/{slug}: {problem}")
    if numbering.USES.search(markdown):
        markdown, problems = numbering.process(markdown, f"{slug}.md", _equation_index(config))
        for problem in problems:
            log.warning(f"{lang}/{slug}: {problem}")
    markdown = execution.add_exec_defaults(markdown, lang, slug)
    try:
        markdown, items = inline.scan(markdown, f"{lang}/{slug}")
    except inline.InlineError as e:
        raise PluginError(str(e)) from None
    if figcaptions.USES.search(markdown):  # after scan: an inline value in alt text is a token by now
        markdown, problems = figcaptions.process(markdown, f"{slug}.md", _figure_index(config), lang)
        for problem in problems:
            log.warning(f"{lang}/{slug}: {problem}")
    blocks = execution.installed()
    ran = ahead.AHEAD.take(f"{lang}-{slug}")  # before pump: no child is to start on this very page
    ahead.AHEAD.pump()
    if ran:  # the page's blocks were run ahead: start_page serves their outputs as a rebuild's
        blocks.now[f"{lang}-{slug}"] = ran
        page.gd_runs = blocks.runs  # blocks run in this process so far (see on_page_content)
    blocks.start_page(execution.exec_sessions(markdown), {f"{lang}-{slug}": items} if items else {})
    return markdown


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


_SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
_SEARCH_NAME = {"en": "Search", "zh": "搜索"}


def on_post_page(output, page, config):
    ahead.AHEAD.pump()  # a child that ended while this page rendered: start the next
    lang, _ = page_lang_and_slug(page)
    output = output.replace(_SEARCH_DIALOG, _SEARCH_DIALOG[:-1] + f' aria-label="{_SEARCH_NAME[lang]}">', 1)
    output = MATH_FONTS.page(search.head(_HEAD_ALTERNATE.sub("", output)), Path(config.site_dir))
    output = _SELECT_LINK.sub(r'\1 target="_self">', output)
    return output.replace("</body>", _LANG_SWITCH_JS + "</body>", 1)
