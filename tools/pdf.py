"""The PDF editions: one PDF per language of the whole book, printed from the built site.

    python tools/pdf.py                      # site/ -> site/downloads/gdbook-{en,zh}.pdf
    python tools/pdf.py --site /tmp/site1 --out /tmp/pdf --lang zh

For each language the built pages are read in the order of ``nav`` in ``mkdocs.yml``; the
``<article>`` of each (Material's navigation chrome left out) goes into one print document:
a cover, a table of contents, the parts, the chapters numbered from 1 in nav order with
numbered sections (3.2, 3.2.1), the labs as appendices A, B, ..., and the glossary. Ids are
made unique per page and links between pages of the book become links inside the PDF; any
other link (the API reference, a download, the other language) points at ``site_url``.
Everything interactive is left out (the static figure in front of each explorable stays),
and every collapsed block (``??? success "Solution"``) is printed open.

The document is served with the site by a local ``http.server`` (it is never written into
the site) and printed by Chromium through Playwright: ``outline=True`` makes the PDF's
bookmarks from the headings (part > chapter > section), ``tagged=True`` a tagged PDF, and
the footer carries the page number (no date, so that two prints of one site differ only in
what Chromium itself stamps). With both languages, each is printed by a process of its own,
at once. Chinese is set in Noto Sans CJK SC (Debian's fonts-noto-cjk), which Chromium embeds
as a subset; the equations (MathML) are set in the site's Latin Modern Math and the figures
stay vector (SVG).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import posixpath
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import yaml
from bs4 import BeautifulSoup, Tag

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (tools/chromium.py)
LANGS = ("en", "zh")
PRINT_PATH = "/__print__/{lang}.html"
#: Pages of the nav that are not printed (a prefix of their source path): the API reference
#: (``api/*.md``) is English docstrings in both languages and is read best on the site, where
#: it links to itself.
SKIP = ("api/",)

WORDS = {
    "en": {
        "contents": "Contents",
        "chapter": "{n}",
        "appendix": "{n}",
        "edition": "PDF edition",
        "online": "The online edition, with interactive figures:",
        "subtitle": "Why optimizers behave as they do: every figure and number in this book is computed by the code printed with it.",
    },
    "zh": {
        "contents": "目录",
        "chapter": "第{n}章",
        "appendix": "附录{n}",
        "edition": "PDF 版",
        "online": "在线版（含交互图）：",
        "subtitle": "优化器为何如此表现：书中的每张图、每个数字都由与之一同印出的代码计算得出。",
    },
}


# ---------------------------------------------------------------------------
# The book's order
# ---------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """mkdocs.yml as MkDocs reads it, for what the PDF needs: ``!ENV [NAME, default]`` is the
    variable's value if it is set, else the default (as MkDocs resolves it); other tags
    (``!!python/name:``) are read as None."""


def _env(loader: yaml.SafeLoader, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        names, default = [loader.construct_scalar(node)], None
    else:
        items = loader.construct_sequence(node)
        names, default = (items[:-1], items[-1]) if len(items) > 1 else (items, None)
    return next((os.environ[n] for n in names if n in os.environ), default)


_Loader.add_constructor("!ENV", _env)
_Loader.add_multi_constructor("", lambda loader, suffix, node: None)


def read_config(root: Path = ROOT) -> dict:
    return yaml.load((root / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)


@dataclass
class Entry:
    """One printed page: its source under docs/, the part it belongs to, its number."""

    src: str          # e.g. "gradient-descent.md", "labs/learning-rate.ipynb"
    part: str | None  # the nav section's English title, None at the top level
    kind: str         # "front" (home), "chapter", "appendix" (labs), "back" (glossary)
    number: str = ""  # "3" for chapters, "A" for appendices, "" otherwise

    @property
    def stem(self) -> str:
        return self.src.rsplit(".", 1)[0]

    def url_path(self, lang: str) -> str:
        """The page's URL path on the site, e.g. ``/zh/labs/learning-rate/``."""
        prefix = "/" if lang == "en" else "/zh/"
        return prefix if self.stem == "index" else f"{prefix}{self.stem}/"

    @property
    def pid(self) -> str:
        """The page's id in the print document (ids inside it are prefixed with it)."""
        return "home" if self.stem == "index" else self.stem.replace("/", "-")


def _walk(items, part=None):
    for item in items:
        if isinstance(item, str):
            yield item, part
        elif isinstance(item, dict):
            for title, value in item.items():
                if isinstance(value, list):
                    yield from _walk(value, title)
                else:
                    yield value, part


def book_order(config: dict) -> list[Entry]:
    """The printed pages in nav order, numbered: chapters 1, 2, ..., labs A, B, ...

    The chapters are the pages of the nav's parts ("Part ..."), numbered consecutively in
    nav order; this is also the chapter number equations and figures carry.
    """
    out: list[Entry] = []
    chapter = appendix = 0
    for src, part in _walk(config["nav"]):
        if not isinstance(src, str) or src.startswith(SKIP):
            continue
        if src.endswith(".ipynb"):
            appendix += 1
            out.append(Entry(src, part, "appendix", chr(ord("A") + appendix - 1)))
        elif src == "index.md":
            out.append(Entry(src, part, "front"))
        elif part and part.startswith("Part"):
            chapter += 1
            out.append(Entry(src, part, "chapter", str(chapter)))
        else:
            out.append(Entry(src, part if part and part != "Reference" else None, "back"))
    return out


def nav_translation(config: dict, lang: str, title: str) -> str:
    for plugin in config.get("plugins", []):
        if isinstance(plugin, dict) and "i18n" in plugin:
            for language in plugin["i18n"].get("languages", []):
                if language.get("locale") == lang:
                    return (language.get("nav_translations") or {}).get(title, title)
    return title


def site_name(config: dict, lang: str) -> str:
    for plugin in config.get("plugins", []):
        if isinstance(plugin, dict) and "i18n" in plugin:
            for language in plugin["i18n"].get("languages", []):
                if language.get("locale") == lang and language.get("site_name"):
                    return language["site_name"]
    return config["site_name"]


# ---------------------------------------------------------------------------
# The print document
# ---------------------------------------------------------------------------

PRINT_CSS = """
@page { size: A4; }
html { font-size: 10pt; }
body { margin: 0; background: white; color: #111;
       -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body.lang-en, body.lang-en .md-typeset { font-family: "DejaVu Serif", "Noto Serif CJK SC", serif; }
body.lang-zh, body.lang-zh .md-typeset { font-family: "Noto Sans CJK SC", "DejaVu Sans", sans-serif; }
.md-typeset { font-size: 10pt; line-height: 1.55; }
.md-typeset code, .md-typeset pre, .md-typeset kbd {
  font-family: "DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace; }
.md-typeset pre > code { white-space: pre-wrap; word-break: break-all; font-size: 7.5pt;
                         padding: .5em .8em; }
.md-typeset .highlight, .md-typeset pre, .md-typeset table, .md-typeset figure,
.md-typeset div.arithmatex, .md-typeset .admonition, .md-typeset details { break-inside: avoid; }
.md-typeset h1, .md-typeset h2, .md-typeset h3, .md-typeset h4 { break-after: avoid; color: #111; }
.md-typeset .headerlink { display: none; }
.md-typeset a { color: #283593; text-decoration: none; }
.md-typeset figure { margin: 1em auto; }
.md-typeset figure img { max-width: 100%; height: auto; }
.md-typeset figcaption { font-size: 8.5pt; max-width: 100%; }
.md-typeset table:not([class]) { font-size: 8.5pt; }
.md-typeset details { overflow: visible; }
.md-typeset details > summary::after { display: none; }
.md-typeset div.arithmatex { overflow: visible !important; }

.cover { height: 250mm; display: flex; flex-direction: column; justify-content: center;
         break-after: page; text-align: left; padding: 0 10mm; }
.cover .title { font-size: 30pt; font-weight: bold; line-height: 1.25; margin-bottom: 12mm; }
.cover .subtitle { font-size: 13pt; line-height: 1.5; margin-bottom: 30mm; }
.cover .edition { font-size: 11pt; }
.cover .online { font-size: 9pt; color: #444; }

.toc { break-after: page; }
.toc ol { list-style: none; padding-left: 0; margin: 0; }
.toc li { margin: .2em 0; }
.toc li.part { font-weight: bold; margin-top: .9em; }
.toc li.part > ol { font-weight: normal; padding-left: 1.5em; }
.toc .num { display: inline-block; min-width: 3.2em; }

.md-typeset h1.part-title { break-before: page; font-size: 22pt; margin: 40mm 0 0 0;
                            font-weight: bold; }
.md-typeset .page { break-before: page; }
.md-typeset .page > h1, .md-typeset .page > h2.chapter-title {
  font-size: 20pt; font-weight: bold; margin: 0 0 1.2em 0; line-height: 1.3; }
.md-typeset .page h3.sec { font-size: 13pt; font-weight: bold; margin-top: 1.6em; }
.md-typeset .page h4.sec { font-size: 11pt; font-weight: bold; }
.md-typeset .page h2.sec { font-size: 14pt; font-weight: bold; margin-top: 1.6em; }
.md-typeset .secnum { margin-right: .6em; }
.md-typeset h2.chapter-title::before { content: attr(data-chapter); display: block;
  font-size: 12pt; font-weight: normal; color: #555; margin-bottom: .3em; }
.gd-x-live, template, .md-clipboard, .zeroclipboard-container, .jp-InputPrompt,
.jp-OutputPrompt, .jp-Collapser { display: none !important; }
"""

FOOTER = ('<div style="width:100%;text-align:center;font-size:8pt;color:#555;'
          'font-family:DejaVu Sans,Noto Sans CJK SC,sans-serif">'
          '<span class="pageNumber"></span></div>')


def _article(html: str) -> Tag:
    soup = BeautifulSoup(html, "html.parser")
    article = soup.find("article")
    if article is None:
        raise SystemExit("no <article> in a built page: was the site built with Material?")
    return article


class Book:
    """The print document of one language, assembled from a built site."""

    def __init__(self, site: Path, lang: str, root: Path = ROOT):
        self.site, self.lang, self.config = site, lang, read_config(root)
        self.entries = book_order(self.config)
        self.by_path = {e.url_path(lang): e for e in self.entries}
        self.site_url = (self.config.get("site_url") or "").rstrip("/")
        self.titles: dict[str, str] = {}

    # -- links -------------------------------------------------------------

    def _link(self, base: str, href: str) -> str:
        if href.startswith(("mailto:", "javascript:")) or re.match(r"^[a-z]+://", href):
            return href
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
        path = parts.path
        if not path.endswith("/") and "." not in posixpath.basename(path):
            path += "/"
        entry = self.by_path.get(path)
        if entry is not None:
            return f"#{entry.pid}--{parts.fragment}" if parts.fragment else f"#{entry.pid}"
        return self.site_url + absolute

    def _fix(self, article: Tag, entry: Entry) -> None:
        base = entry.url_path(self.lang)
        for tag in article.find_all(["script", "noscript", "template"]):
            tag.decompose()
        for tag in article.select(".gd-x-live, .headerlink, .md-content__button, .md-source-file, "
                                  ".zeroclipboard-container, .anchor-link"):
            tag.decompose()
        for tag in article.find_all(id=True):
            tag["id"] = f"{entry.pid}--{tag['id']}"
        for tag in article.find_all(attrs={"for": True}):
            tag["for"] = f"{entry.pid}--{tag['for']}"
        for tag in article.find_all("a", href=True):
            tag["href"] = self._link(base, tag["href"])
        for tag in article.find_all(["img", "source"], src=True):
            if not re.match(r"^([a-z]+:|//)", tag["src"]):
                tag["src"] = urljoin(base, tag["src"])
            tag.attrs.pop("loading", None)
            tag.attrs.pop("decoding", None)
        for tag in article.find_all("link", href=True):
            tag["href"] = urljoin(base, tag["href"])
        for tag in article.find_all("details"):
            tag["open"] = ""

    # -- numbering ---------------------------------------------------------

    def _number(self, article: Tag, entry: Entry, soup: BeautifulSoup) -> str:
        """Shift headings one level down (the part is the top), number them; return the title."""
        h1 = article.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else entry.stem
        in_part = entry.kind in ("chapter", "appendix")
        if not in_part:
            return title
        counters = [0, 0, 0]
        for h in article.find_all(re.compile(r"^h[1-5]$")):
            level = int(h.name[1])
            h.name = f"h{level + 1}"
            if level == 1:
                h["class"] = h.get("class", []) + ["chapter-title"]
                label = WORDS[self.lang]["chapter" if entry.kind == "chapter" else "appendix"]
                # generated content, not a <span>: Chromium's outline repeated a block-level
                # span's text on Chinese pages ("第1章第1章优化与深度学习")
                h["data-chapter"] = label.format(n=entry.number)
                continue
            if level > 4:
                continue
            counters[level - 2] += 1
            for i in range(level - 1, 3):
                counters[i] = 0
            h["class"] = h.get("class", []) + ["sec"]
            num = soup.new_tag("span", attrs={"class": "secnum"})
            num.string = ".".join([entry.number] + [str(c) for c in counters[: level - 1]])
            h.insert(0, num)
            num.insert_after(" ")
        return title

    # -- assembly ----------------------------------------------------------

    def html(self) -> str:
        lang, words = self.lang, WORDS[self.lang]
        soup = BeautifulSoup("<div class='md-typeset'></div>", "html.parser")
        body = soup.div
        toc_items: list[tuple[str | None, Entry]] = []
        current_part = None
        for entry in self.entries:
            f = self.site / entry.url_path(lang).lstrip("/") / "index.html"
            if not f.exists():
                raise SystemExit(f"missing built page {f}: build the site first (make build)")
            article = _article(f.read_text(encoding="utf-8"))
            self._fix(article, entry)
            title = self._number(article, entry, soup)
            self.titles[entry.pid] = title
            if entry.part != current_part:
                current_part = entry.part
                if entry.kind in ("chapter", "appendix") and entry.part:
                    h = soup.new_tag("h1", attrs={"class": "part-title",
                                                  "id": "part-" + str(len(toc_items))})
                    h.string = nav_translation(self.config, lang, entry.part)
                    body.append(h)
                    toc_items.append((h.string, None))
            section = soup.new_tag("section", attrs={"class": "page", "id": entry.pid})
            for child in list(article.contents):
                section.append(child.extract())
            body.append(section)
            toc_items.append((None, entry))

        toc = self._toc(toc_items)
        name = site_name(self.config, lang)
        cover = (f'<div class="cover"><div class="title">{name}</div>'
                 f'<div class="subtitle">{words["subtitle"]}</div>'
                 f'<div class="edition">{words["edition"]}</div>'
                 f'<div class="online">{words["online"]} {self.site_url}'
                 f'{"/zh/" if lang == "zh" else "/"}</div></div>')
        css = "".join(
            f'<link rel="stylesheet" href="/assets/{p}">'
            for p in self._stylesheets()
        )
        return (f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
                f'<meta charset="utf-8"><title>{name}</title>{css}'
                f'<style>{PRINT_CSS}</style></head>'
                f'<body class="lang-{lang}" data-md-color-scheme="default" '
                f'data-md-color-primary="indigo" data-md-color-accent="indigo">'
                f'{cover}{toc}{body}</body></html>')

    def _stylesheets(self) -> list[str]:
        """Material's and the book's stylesheets, as the built home page links them."""
        home = (self.site / "index.html").read_text(encoding="utf-8")
        out = []
        for href in re.findall(r'<link rel="stylesheet" href="(?:\./)?assets/([^"]+)"', home):
            out.append(href)
        nb = sorted((self.site / "assets" / "stylesheets").glob("notebook-*.css"))
        out += [f"stylesheets/{p.name}" for p in nb]
        return out

    def _toc(self, items) -> str:
        words = WORDS[self.lang]
        out = [f'<nav class="toc md-typeset"><h1 id="contents">{words["contents"]}</h1><ol>']
        open_part = False
        for part, entry in items:
            if entry is None:
                if open_part:
                    out.append("</ol></li>")
                out.append(f'<li class="part">{part}<ol>')
                open_part = True
                continue
            if entry.kind in ("front", "back") and open_part:
                out.append("</ol></li>")
                open_part = False
            num = entry.number
            if entry.kind == "chapter":
                num = words["chapter"].format(n=num) if self.lang == "zh" else num
            elif entry.kind == "appendix":
                num = words["appendix"].format(n=num) if self.lang == "zh" else num
            out.append(f'<li><a href="#{entry.pid}"><span class="num">{num}</span>'
                       f'{self.titles[entry.pid]}</a></li>')
        if open_part:
            out.append("</ol></li>")
        out.append("</ol></nav>")
        return "".join(out)


# ---------------------------------------------------------------------------
# Serving and printing
# ---------------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    documents: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802
        doc = self.documents.get(urlsplit(self.path).path)
        if doc is None:
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(doc)))
        self.end_headers()
        self.wfile.write(doc)

    def log_message(self, *args):
        pass


def serve(site: Path, documents: dict[str, bytes]):
    """An http.server thread on 127.0.0.1 serving ``site`` plus in-memory ``documents``."""
    handler = type("Handler", (_Handler,), {"documents": documents})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def print_pdfs(site: Path, out: Path, langs=LANGS, *, html: dict | None = None, log=print,
               parallel: bool = True) -> list[Path]:
    """Print ``gdbook-<lang>.pdf`` into ``out`` for each language; ``html`` maps a language
    to its print document if it was assembled before (``Book(site, lang).html()``).

    With more than one language and ``parallel``, each language is assembled, printed and
    finished by a process of its own (this script with ``--lang``), all at once: each edition
    is mostly single-threaded work (BeautifulSoup, Chromium laying out and printing one long
    document, pypdf), so on a machine with several cores the editions take about as long
    together as the longest alone. The PDFs say the same either way (the same pages, text,
    outline and dates; their bytes differ as any two prints do)."""
    langs = tuple(langs)
    if parallel and len(langs) > 1:
        return _print_in_processes(site, out, langs, html or {}, log)
    from playwright.sync_api import sync_playwright

    documents = {}
    for lang in langs:
        t = time.monotonic()
        doc = (html or {}).get(lang) or Book(site, lang).html()
        documents[PRINT_PATH.format(lang=lang)] = doc.encode("utf-8")
        log(f"{lang}: print document assembled in {time.monotonic() - t:.1f} s")
    server, base = serve(site, documents)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    outside: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for lang in langs:
                    t = time.monotonic()
                    page = browser.new_page()

                    def guard(route, request, _base=base):
                        if request.url.startswith(_base):
                            route.continue_()
                        else:
                            outside.append(route.request.url)
                            route.abort()

                    page.route("**/*", guard)
                    page.emulate_media(media="print")
                    page.goto(base + PRINT_PATH.format(lang=lang), wait_until="load",
                              timeout=300_000)
                    page.evaluate("document.fonts.ready.then(() => true)")
                    page.wait_for_function(
                        "Array.from(document.images).every(i => i.complete)", timeout=120_000)
                    target = out / f"gdbook-{lang}.pdf"
                    page.pdf(path=str(target), format="A4", print_background=True,
                             outline=True, tagged=True, display_header_footer=True,
                             header_template="<span></span>", footer_template=FOOTER,
                             margin={"top": "18mm", "bottom": "20mm", "left": "18mm",
                                     "right": "18mm"})
                    page.close()
                    log(f"{lang}: printed in {time.monotonic() - t:.0f} s")
                    fixed, _ = finish(target, documents[PRINT_PATH.format(lang=lang)].decode("utf-8"))
                    if fixed:
                        log(f"{lang}: {fixed} outline title(s) repeated by Chromium put right")
                    written.append(target)
                    log(f"{lang}: {target} ({target.stat().st_size / 1e6:.1f} MB) "
                        f"in {time.monotonic() - t:.0f} s")
            finally:
                browser.close()
    finally:
        server.shutdown()
    if outside:
        raise SystemExit(f"the print document asked for {len(outside)} outside URL(s), "
                         f"e.g. {outside[0]}")
    return written


def _print_in_processes(site: Path, out: Path, langs: tuple, html: dict, log, extra=()) -> list[Path]:
    """This script for each language (``--lang``) in a process of its own, all at once, with
    ``extra`` arguments; a document of ``html`` is handed over in a file (``--document``). The
    processes' output lines go to ``log`` (the lines print_pdfs logs name their language)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gdbook-pdf-") as tmp:
        procs = []
        for lang in langs:
            cmd = [sys.executable, "-u", str(Path(__file__).resolve()), "--site", str(site), "--out", str(out),
                   "--lang", lang, *extra]
            if html.get(lang):
                doc = Path(tmp) / f"{lang}.html"
                doc.write_text(html[lang], encoding="utf-8")
                cmd += ["--document", str(doc)]
            procs.append((lang, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                 text=True, encoding="utf-8")))
        readers, outputs = [], {}
        for lang, proc in procs:
            outputs[lang] = []

            def read(proc=proc, lines=outputs[lang]):
                for line in proc.stdout:
                    lines.append(line.rstrip("\n"))
                    log(line.rstrip("\n"))

            readers.append(threading.Thread(target=read, daemon=True))
            readers[-1].start()
        failed = []
        for (lang, proc), reader in zip(procs, readers):
            proc.wait()
            reader.join()
            if proc.returncode != 0:
                failed.append(f"{lang} (exit {proc.returncode}): " + "\n".join(outputs[lang][-20:]))
    if failed:
        raise SystemExit("printing failed for " + "\n".join(failed))
    return [out / f"gdbook-{lang}.pdf" for lang in langs]


def heading_texts(html: str) -> list[str]:
    """The text of every heading of the print document, in order (what the outline names)."""
    import html as htmlmod

    out = []
    for m in re.finditer(r"<h([1-6])\b[^>]*>(.*?)</h\1>", html, re.S):
        text = htmlmod.unescape(re.sub(r"<[^>]+>", "", m.group(2)))
        out.append(re.sub(r"\s+", " ", text).strip())
    return out


def fix_outline(pdf: Path, html: str) -> int:
    """Put right the outline titles Chromium repeats (on the Chinese edition it made
    "7.47.4 Nesterov 动量 Nesterov 动量" of "7.4 Nesterov 动量" for some headings, depending
    on where the page breaks fall). The outline lists the headings in document order, so its
    n-th title is the n-th heading's text; a title is replaced only when it contains that
    text and is longer, and nothing is touched unless the counts agree. Needs pypdf (without
    it the PDF is left as printed); returns the number of titles replaced."""
    try:
        from pypdf import PdfReader, PdfWriter
    except ImportError:
        return 0
    writer = PdfWriter(clone_from=PdfReader(pdf))
    fixed = _fix_outline(writer, html)
    if fixed:
        with open(pdf, "wb") as f:
            writer.write(f)
    return fixed


def _fix_outline(writer, html: str) -> int:
    """fix_outline's work on a pypdf ``PdfWriter``; returns the number of titles replaced."""
    from pypdf.generic import NameObject, TextStringObject

    expected = heading_texts(html)
    items = []

    def walk(node):
        while node is not None:
            node = node.get_object()
            items.append(node)
            if "/First" in node:
                walk(node["/First"])
            node = node.get("/Next")

    root = writer._root_object.get("/Outlines")
    if root is None or "/First" not in root.get_object():
        return 0
    walk(root.get_object()["/First"])
    if len(items) != len(expected):
        return 0
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    fixed = 0
    for item, text in zip(items, expected):
        title = str(item.get("/Title", ""))
        if title != text and len(squash(title)) > len(squash(text)) and squash(text) and \
                all(part in title for part in text.split()):
            item[NameObject("/Title")] = TextStringObject(text)
            fixed += 1
    return fixed


def edition_epoch() -> int:
    """The edition's date: the last commit's time (``SOURCE_DATE_EPOCH`` if set), as for the
    wheel and sdist the site publishes (``hooks/downloads.py``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gdbook_downloads_hook", ROOT / "hooks" / "downloads.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.source_date_epoch(ROOT)


def date_edition(pdf: Path, epoch: int | None = None) -> str | None:
    """Give the PDF the edition's date instead of the time Chromium printed it, so that the
    same commit prints PDFs with the same dates. Returns the PDF date string written
    (None without pypdf)."""
    try:
        from pypdf import PdfReader, PdfWriter
    except ImportError:
        return None
    writer = PdfWriter(clone_from=PdfReader(pdf))
    stamp = _date_edition(writer, epoch)
    if stamp is not None:
        with open(pdf, "wb") as f:
            writer.write(f)
    return stamp


def _date_edition(writer, epoch: int | None = None) -> str | None:
    """date_edition's work on a pypdf ``PdfWriter``; returns the date written or None."""
    from pypdf.generic import NameObject, TextStringObject

    stamp = time.strftime("D:%Y%m%d%H%M%S+00'00'", time.gmtime(edition_epoch() if epoch is None else epoch))
    info = writer._info.get_object() if writer._info is not None else None
    if info is None:
        return None
    for key in ("/CreationDate", "/ModDate"):
        info[NameObject(key)] = TextStringObject(stamp)
    return stamp


def finish(pdf: Path, html: str, epoch: int | None = None) -> tuple[int, str | None]:
    """fix_outline and date_edition in one pass: pypdf reads and writes the whole PDF once
    (each pass over a 30 MB edition took tens of seconds). Returns what they return."""
    try:
        from pypdf import PdfReader, PdfWriter
    except ImportError:
        return 0, None
    writer = PdfWriter(clone_from=PdfReader(pdf))
    fixed, stamp = _fix_outline(writer, html), _date_edition(writer, epoch)
    if fixed or stamp is not None:
        with open(pdf, "wb") as f:
            writer.write(f)
    return fixed, stamp


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, default=ROOT / "site", help="the built site (default site/)")
    ap.add_argument("--out", type=Path, default=None, help="output directory (default SITE/downloads)")
    ap.add_argument("--lang", choices=LANGS, action="append", help="one language (repeatable)")
    ap.add_argument("--html", action="store_true", help="also write the print HTML next to the PDFs")
    ap.add_argument("--document", type=Path, help="with one --lang: its print document, assembled before")
    args = ap.parse_args(argv)
    out = args.out or args.site / "downloads"
    langs = tuple(args.lang or LANGS)
    html = {}
    if args.document:
        if len(langs) != 1:
            ap.error("--document goes with exactly one --lang")
        html[langs[0]] = args.document.read_text(encoding="utf-8")
    elif len(langs) > 1:  # a process per language, each assembling its own document
        _print_in_processes(args.site, out, langs, {}, print, ["--html"] if args.html else [])
        return 0
    elif args.html:
        out.mkdir(parents=True, exist_ok=True)
        for lang in langs:
            html[lang] = Book(args.site, lang).html()
            (out / f"gdbook-{lang}.html").write_text(html[lang], encoding="utf-8")
    print_pdfs(args.site, out, langs, html=html)
    return 0


if __name__ == "__main__":
    sys.exit(main())
