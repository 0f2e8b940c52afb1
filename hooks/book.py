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

Under ``mkdocs serve``, a page built again runs only its blocks whose code, or the code
before them in their session, changed (``_Blocks``); the others give their last output, and
an inline value is evaluated again only if it or the code above it changed.

Jupyter pages: mkdocs-static-i18n would copy ``.ipynb`` files as static files;
this hook hands them back to mkdocs-jupyter as pages (upstream issue #198).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


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
typeset = _sibling("typeset")  # math typeset at build (KaTeX in an embedded V8)
figures = _sibling("figures")  # figures as same-site SVG files
search = _sibling("search")  # the search index per language, fetched at the first intent to search
assets = _sibling("assets")  # theme files no reader can use, left out
downloads = _sibling("downloads")  # gdbook's wheel and sdist, published with the site
bibliography = _sibling("bibliography")  # [@key] citations and reference lists from references.bib
numbering = _sibling("numbering")  # \label{eq:...} -> \tag{3.2}; \eqref{eq:...} -> a link
figcaptions = _sibling("figcaptions")  # /// figure captions in prose, numbered; [](#fig:...) -> a link; fold="1"
KATEX_JS = Path(__file__).with_name("katex") / "katex.min.js"


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


# ---------------------------------------------------------------------------
# Labs: execute the notebooks in the background
# ---------------------------------------------------------------------------
# mkdocs-jupyter executes each notebook in its own kernel when it reaches the page, and
# the build waits. The kernels are separate processes, so the hook starts them when the
# build starts, one at a time and at a lower priority: the chapters keep one core, the labs
# take the other. When mkdocs-jupyter reaches a notebook (the labs are rendered last in
# each language), it converts the copy executed in the background, waiting for it if need
# be. Conversion stays in the main thread, in the same order as before (nbconvert keeps
# global counters), so the HTML is unchanged. The two kernels of a lab share gdbook's cache
# through a directory of the build named by the lab's code and gdbook's source
# (GDBOOK_CACHE_DIR, `_lab_cache_key`; the English labs run first), so a Chinese lab reuses
# the English lab's experiments, as the Chinese chapters do in this process.
# Under `mkdocs serve` the executed copies last as long as the server: a rebuild executes
# again only a notebook whose content changed (or whose run failed).


class _Labs:
    def __init__(self):
        self.pool: ThreadPoolExecutor | None = None
        self.jobs: dict[str, tuple[str, object]] = {}
        self.tmp: Path | None = None

    def open(self, workers: int) -> None:
        if self.pool is None:
            self.pool, self.jobs = ThreadPoolExecutor(workers, thread_name_prefix="lab"), {}
            self.tmp = Path(tempfile.mkdtemp(prefix="gdbook-labs-"))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.pool, self.jobs, self.tmp = None, {}, None

    @staticmethod
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def start(self, path: Path, docs_dir: Path, kernel_name: str, allow_errors: bool) -> None:
        """Execute ``path`` in the background, unless its current content was or is being executed."""
        key, digest = str(path.resolve()), self.digest(path)
        if key in self.jobs:
            known, job = self.jobs[key]
            if known == digest and not (job.done() and job.exception() is not None):
                return
        out = self.tmp / digest[:16] / path.resolve().relative_to(docs_dir.resolve())
        # A kernel imports gdbook afresh: results cached by a kernel that ran other gdbook code,
        # or other notebook code, are not its to reuse (a server lives through edits to both).
        # The two languages of a lab share a directory: their code differs only in comments
        # and strings.
        cache = self.tmp / "cache" / _lab_cache_key(path)
        job = self.pool.submit(self._execute, path, out, kernel_name, allow_errors, cache)
        self.jobs[key] = (digest, job)

    @staticmethod
    def _execute(path: Path, out: Path, kernel_name: str, allow_errors: bool, cache: Path) -> str:
        import nbformat
        from nbclient import NotebookClient

        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, kernel_name=kernel_name, allow_errors=allow_errors, store_widget_state=True,
                                resources={"metadata": {"path": str(path.parent)}})
        # A lower priority: the kernel takes the core the build's main thread leaves idle.
        client.on_notebook_start = lambda **_: os.setpriority(os.PRIO_PROCESS, client.km.provisioner.pid, 10)
        client.execute(env=dict(os.environ, GDBOOK_CACHE_DIR=str(cache)))
        _coalesce_streams(nb)
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
        return str(out)

    def executed(self, path) -> str | None:
        """The executed copy of ``path`` (waiting for it), or None if none was started or it changed."""
        key = str(Path(path).resolve())
        if key not in self.jobs:
            return None
        digest, job = self.jobs[key]
        if digest != self.digest(Path(path)):
            return None
        return job.result()


_LABS = _Labs()


def _coalesce_streams(nb) -> None:
    """Merge a cell's consecutive outputs to the same stream. How a kernel splits what a cell
    prints into messages depends on timing (two prints gave one output in one build and two in
    the next): merged, the page is the same in every build."""
    for cell in nb.cells:
        merged = []
        for out in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if last is not None and out.output_type == "stream" == last.output_type and out.name == last.name:
                last.text += out.text
            else:
                merged.append(out)
        if cell.cell_type == "code":
            cell.outputs = merged


def _lab_cache_key(path: Path) -> str:
    """The name of the cache directory that the kernel running notebook ``path`` shares.

    A digest of gdbook's source and of the notebook's code cells without their comments and
    string literals: the English and the Chinese lab (same code, other comments, captions
    and ``LANG``) share it; an edit to a code cell, or to gdbook, gets a new one.
    """
    import nbformat

    h = hashlib.sha256(_gdbook_digest().encode())
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            h.update(b"\0cell\0" + _code_tokens(cell.source).encode())
    return h.hexdigest()[:16]


def _code_tokens(code: str) -> str:
    """``code`` without comments, string literals and layout, as one string of tokens
    (the code itself if it does not tokenize, e.g. an IPython magic)."""
    import io
    import tokenize

    out, depth = [], 0  # depth: inside an f-string (Python >= 3.12 tokenizes its parts)
    starts = {getattr(tokenize, n) for n in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, n)}
    ends = {getattr(tokenize, n) for n in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, n)}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in starts:
                depth += 1
            elif tok.type in ends:
                depth -= 1
                out.append("<str>")
            elif depth or tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
                continue
            elif tok.type == tokenize.STRING:
                out.append("<str>")
            else:
                out.append(tok.string if tok.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)
                           else tokenize.tok_name[tok.type])
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code
    return " ".join(out)


def _gdbook_digest() -> str:
    """A digest of gdbook's source files as they are on disk now."""
    import gdbook

    h = hashlib.sha256()
    for f in sorted(Path(gdbook.__file__).parent.rglob("*.py")):
        h.update(f.as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _patch_nb2html() -> None:
    import mkdocs_jupyter.convert as convert

    if getattr(convert.nb2html, "_gdbook", False):
        return
    original = convert.nb2html

    def nb2html(nb_path, *args, execute=False, **kwargs):
        start = time.perf_counter()
        done = _LABS.executed(nb_path) if execute else None
        if done is not None:
            waited = time.perf_counter() - start
            log.info(f"Converting notebook executed in the background (waited {waited:.1f} s): {nb_path}")
            return original(done, *args, execute=False, **kwargs)
        return original(nb_path, *args, execute=execute, **kwargs)

    nb2html._gdbook = True
    convert.nb2html = nb2html


def _first_language(config) -> bool:
    """True in the build of the default language, the one that starts a (re)build."""
    i18n = config.plugins.get("i18n")
    return i18n is None or not i18n.building


def _start_labs(config, paths) -> None:
    jupyter = config.plugins["mkdocs-jupyter"]
    _patch_nb2html()
    _LABS.open(workers=1)
    for path in sorted(paths, key=lambda p: (p.name.count("."), p.as_posix())):  # x.ipynb before x.zh.ipynb
        _LABS.start(path, Path(config.docs_dir), jupyter.config["kernel_name"], jupyter.config["allow_errors"])


def _executes_labs(config) -> bool:
    jupyter = config.plugins.get("mkdocs-jupyter")
    return jupyter is not None and jupyter.config["execute"]


def on_files(files, config):
    # MkDocs renders pages in the order of `files`: the labs last, so their kernels get the
    # most time (the navigation does not depend on this order).
    is_lab = [f.src_uri.endswith(".ipynb") for f in files]
    return Files([f for f, lab in zip(files, is_lab) if not lab] + [f for f, lab in zip(files, is_lab) if lab])


def on_config(config):
    if _first_language(config):
        downloads.start(config)
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

    _LABS.close()  # the end of `mkdocs build`, or of `mkdocs serve` and all its rebuilds
    gc.freeze()


@mkdocs.plugins.event_priority(-200)  # after mkdocs-static-i18n's, which builds the other languages
def on_post_build(config):
    import gdbook.cache

    i18n = config.plugins.get("i18n")
    if i18n is None or not i18n.building:  # the end of the whole build, every language done
        s = gdbook.cache.stats()
        log.info(f"gdbook cache: {s['hits']} hits, {s['misses']} misses, {s['uncached']} uncached calls")
        sizes = search.split(Path(config.site_dir))
        log.info("search index per language: " + ", ".join(f"{k} {v:,} B" for k, v in sizes.items()))
        assets.prune(Path(config.site_dir), list(search.LANGS))
        downloads.write(config)


DOWNLOAD = {"en": "Download this notebook (.ipynb)", "zh": "下载本 Notebook（.ipynb）"}


def on_page_content(html, page, config, files):
    """Notebook pages: drop nbconvert's CDN scripts, add the download button. Every page: set the
    figures aside while the search plugin indexes the page (see ``_hide_figures``)."""
    if page.file.src_uri.endswith(".ipynb"):
        html = _notebook_page(html, page, config)
    html = _inline_values(html, page)
    if page.file.src_uri.endswith(".md"):
        lang, slug = page_lang_and_slug(page)
        html, problems = figcaptions.attach(html, lang)
        for problem in problems:
            log.warning(f"{lang}/{slug}: {problem}")
    return _hide_figures(html, page)


def _inline_values(html: str, page) -> str:
    """Put the page's inline values in place of their tokens; report the ones that failed."""
    lang, slug = page_lang_and_slug(page)
    blocks = _blocks()
    name = f"{lang}-{slug}"
    values = blocks.values.get(name, {})
    for item in blocks.inline.get(name, []):
        value = values.get(item.token)
        if value is None or isinstance(value, _Failed):
            why = value or "not evaluated (a block above it failed, or it is not below any executed block)"
            log.warning(f"{lang}/{slug}, line {item.line}: inline value `{item.expr}`: {why}")
    return inline.substitute(html, {k: v for k, v in values.items() if not isinstance(v, _Failed)})


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
    html = typeset_page(html, _katex(), f"{lang}/{slug}", errors)
    for e in errors:
        log.warning(e)
    page.content = figures.extract(html, Path(config.site_dir), "../" * page.url.count("/"))
    return context


_KATEX = []


def _katex():
    """The build's one KaTeX (started at the first page with math)."""
    if not _KATEX:
        _KATEX.append(typeset.KaTeX(KATEX_JS))
    return _KATEX[0]


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
# it into one stylesheet, named by its content, and links it instead. The <style> elements
# of the figures' inline SVG stay where they are.
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
    chapters = numbering.chapter_numbers(config.nav)
    docs = Path(config.docs_dir)
    sources = {src: (docs / src).read_text(encoding="utf-8") for src in chapters if (docs / src).exists()}
    return numbering.index(sources, chapters)


def _figure_index(config) -> dict:
    """``{label: (page source, number)}`` from the English pages of the nav (figcaptions.index)."""
    chapters = numbering.chapter_numbers(config.nav)
    docs = Path(config.docs_dir)
    pages = [src for src in _nav_pages(config.nav) if (docs / src).exists()]
    return figcaptions.index({src: (docs / src).read_text(encoding="utf-8") for src in pages}, chapters)


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
    markdown = add_exec_defaults(markdown, lang, slug)
    try:
        markdown, items = inline.scan(markdown, f"{lang}/{slug}")
    except inline.InlineError as e:
        raise PluginError(str(e)) from None
    if figcaptions.USES.search(markdown):  # after scan: an inline value in alt text is a token by now
        markdown, problems = figcaptions.process(markdown, f"{slug}.md", _figure_index(config), lang)
        for problem in problems:
            log.warning(f"{lang}/{slug}: {problem}")
    _blocks().start_page(exec_sessions(markdown), {f"{lang}-{slug}": items} if items else {})
    return markdown


# ---------------------------------------------------------------------------
# `mkdocs serve`: an edit to a page's prose does not run its code again
# ---------------------------------------------------------------------------
# markdown-exec runs every block of a page on every rebuild of the page, so under `serve` a
# typo fixed in a paragraph used to cost all of the page's experiments and figures. A block's
# output is a function of the code its session has run up to and including that block: a
# session is one page in one language, every page starts its session empty (below), seeds are
# fixed, and the server does not reload gdbook. So `_Blocks` keys each output by a digest of
# that chain of code and, when the page is built again, serves the output of a block whose
# chain is unchanged without running it. Blocks served this way are remembered, in order,
# and run (their output discarded, their figures not drawn) before the first block that has
# to run, so that block sees the variables a run from the top would give it. A clean build
# runs each session once, so there nothing is served from memory. Only the page's last build
# is kept.


def exec_sessions(markdown: str) -> list[str]:
    """The markdown-exec sessions of a page's executed Python blocks, in order of appearance."""
    sessions = [re.search(r'\bsession="([^"]*)"', m.group("attrs")) for m in FENCE.finditer(markdown)
                if EXEC.search(m.group("attrs"))]
    return list(dict.fromkeys(s.group(1) for s in sessions if s))


class _Blocks:
    """markdown-exec's ``_run_python``, remembering each block's output by its session's chain of code."""

    def __init__(self, run, sessions: dict):
        self.run, self.sessions = run, sessions  # markdown-exec's function and its sessions' globals
        self.last: dict[str, dict[str, str]] = {}  # session -> {chain digest: output}, its page's last build
        self.now: dict[str, dict[str, str]] = {}  # the same, for the build under way
        self.chain: dict[str, str] = {}
        self.skipped: dict[str, list] = {}
        self.count: dict[str, int] = {}  # blocks of the session seen in this build of its page
        self.inline: dict[str, list] = {}  # session -> its page's inline values (inline.Inline)
        self.values: dict[str, dict] = {}  # session -> {token: text, or an error message (_Failed)}
        self.runs = 0  # blocks run (for the tests)
        self.evals = 0  # inline values evaluated (for the tests)

    def start_page(self, sessions, inline: dict | None = None) -> None:
        """A page is built (again): its sessions start empty; ``inline`` maps a session to the
        page's inline values (``inline.scan``)."""
        inline = inline or {}
        for name in dict.fromkeys([*sessions, *inline]):
            self.last[name] = self.now.pop(name, self.last.get(name, {}))
            self.now[name], self.skipped[name] = {}, []
            self.chain[name] = hashlib.sha256(name.encode()).hexdigest()
            self.sessions.pop(name, None)  # start empty, as in a clean build
            self.count[name], self.values[name] = 0, {}
            self.inline[name] = list(inline.get(name, []))

    def _replay(self, name: str) -> None:
        """Run the blocks served from memory so far (for their variables: no output, no figure)."""
        if self.skipped[name]:
            from gdbook.figures import _not_drawn

            with _not_drawn():  # their output was served already
                for skipped in self.skipped[name]:
                    self._run(*skipped)
            self.skipped[name].clear()

    def _evaluate(self, name: str, key: str) -> None:
        """The inline values that follow the session's block just seen (its chain digest ``key``)."""
        for item in (i for i in self.inline[name] if i.after == self.count[name]):
            vkey = hashlib.sha256(f"{key}\0{item.expr}".encode()).hexdigest()
            value = self.last[name].get(vkey)
            if value is None:
                self._replay(name)
                self.evals += 1
                try:
                    value = inline.evaluate(item.expr, self.sessions[name], f"{name} line {item.line}")
                except Exception as e:  # reported by the page (a warning: the strict build fails)
                    self.values[name][item.token] = _Failed(f"{type(e).__name__}: {e}")
                    continue
            self.now[name][vkey] = self.values[name][item.token] = value

    def _run(self, code, kwargs) -> str:
        self.runs += 1
        return self.run(code, **kwargs)

    def __call__(self, code: str, **kwargs) -> str:
        name = kwargs.get("session")
        if name not in self.chain:
            return self._run(code, kwargs)
        link = repr((self.chain[name], code, sorted(kwargs.items()), os.getcwd(), os.environ.get("COLUMNS")))
        key = self.chain[name] = hashlib.sha256(link.encode()).hexdigest()
        self.count[name] += 1
        output = self.last[name].get(key)
        if output is None:
            self._replay(name)
            output = self._run(code, kwargs)
        else:
            self.skipped[name].append((code, kwargs))
        self.now[name][key] = output
        self._evaluate(name, key)
        return output


class _Failed(str):
    """Why an inline value could not be computed (kept apart from values, which are ``str``)."""


def _blocks() -> _Blocks:
    """The ``_Blocks`` installed in markdown-exec, which keeps the sessions: one per process, kept
    by every build and rebuild of a `serve`."""
    import markdown_exec._internal.formatters.python as python

    if not hasattr(python._run_python, "start_page"):
        python._run_python = _Blocks(python._run_python, python._sessions_globals)
    return python._run_python


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
    lang, _ = page_lang_and_slug(page)
    output = output.replace(_SEARCH_DIALOG, _SEARCH_DIALOG[:-1] + f' aria-label="{_SEARCH_NAME[lang]}">', 1)
    output = search.head(_HEAD_ALTERNATE.sub("", output))
    output = _SELECT_LINK.sub(r'\1 target="_self">', output)
    return output.replace("</body>", _LANG_SWITCH_JS + "</body>", 1)
