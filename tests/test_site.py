"""The built site: every page in both languages, no execution errors, nothing loaded from outside."""

from __future__ import annotations

import html
import hashlib
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import GENERATED, LANGS, ROOT, built_pages, page_file, pages, slugs, source, url_path, zh_only_sources

pytestmark = pytest.mark.build

EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //, ftp://, ...
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.I)
CSS_IMPORT = re.compile(r"""@import\s+(['"])(.*?)\1""", re.I)
TAG = re.compile(r"<[^>]+>")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def text_of(page_html: str) -> str:
    """The visible-ish text of a page: tags removed, entities decoded."""
    return html.unescape(TAG.sub("", page_html))


def test_every_english_page_has_a_chinese_source():
    assert not zh_only_sources(), f"Chinese pages without an English page: {zh_only_sources()}"
    missing = [s for s in slugs() if not source(s, "zh").exists()]
    assert not missing, f"English pages without a Chinese page: {missing}"


@pytest.mark.parametrize("slug", slugs())
def test_page_exists_in_both_languages(site, slug):
    for lang in LANGS:
        f = page_file(site, slug, lang)
        assert f.is_file(), f"{slug}: no {lang} page at {f.relative_to(site)}"


@pytest.mark.parametrize("slug,lang", pages())
def test_lang_attribute_and_h1(site, slug, lang):
    doc = read(page_file(site, slug, lang))
    m = re.search(r"<html\b[^>]*\blang=\"([^\"]+)\"", doc)
    assert m, f"{lang}/{slug}: <html> has no lang attribute"
    assert m.group(1) == lang, f"{lang}/{slug}: <html lang={m.group(1)!r}>, expected {lang!r}"
    assert re.search(r"<h1\b", doc), f"{lang}/{slug}: no <h1>"


@pytest.mark.parametrize("slug,lang", [p for p in pages() if p[0] not in GENERATED])
def test_no_execution_errors(site, slug, lang):
    """markdown-exec renders a failing block's traceback as a code block on the page."""
    text = text_of(read(page_file(site, slug, lang)))
    for marker in ("Traceback (most recent call last)", "MissingGlyphError", "Execution of python code block"):
        assert marker not in text, f"{lang}/{slug}: the page shows {marker!r} (a block failed)"


def _external_refs(doc: str) -> list[str]:
    soup = BeautifulSoup(doc, "html.parser")
    found = []

    def check(tag, attr):
        value = tag.get(attr)
        if not value:
            return
        candidates = [v.strip().split(" ")[0] for v in value.split(",")] if attr == "srcset" else [value]
        found.extend(f"<{tag.name} {attr}={v}>" for v in candidates if EXTERNAL.match(v))

    for tag in soup.find_all(["script", "img", "iframe", "audio", "video", "source", "track", "embed", "input"]):
        check(tag, "src")
        check(tag, "srcset")
    for tag in soup.find_all("link"):
        rel = {r.lower() for r in tag.get("rel", [])}
        if rel & {"stylesheet", "icon", "shortcut", "preload", "modulepreload", "prefetch", "manifest",
                  "apple-touch-icon", "preconnect", "dns-prefetch"}:
            check(tag, "href")
    for tag in soup.find_all("object"):
        check(tag, "data")
    for tag in soup.find_all(["image", "use", "feimage"]):
        check(tag, "href")
        check(tag, "xlink:href")
    for tag in soup.find_all(style=True):
        found.extend(f"style url({u})" for _, u in CSS_URL.findall(tag["style"]) if EXTERNAL.match(u))
    for tag in soup.find_all("style"):
        css = tag.string or ""
        found.extend(f"<style> url({u})" for _, u in CSS_URL.findall(css) + CSS_IMPORT.findall(css) if EXTERNAL.match(u))
    return found


@pytest.mark.parametrize("slug,lang", pages())
def test_no_external_resources_in_pages(site, slug, lang):
    refs = _external_refs(read(page_file(site, slug, lang)))
    assert not refs, f"{lang}/{slug} loads from outside the site: {refs[:10]}"


def test_no_external_urls_in_css(site):
    bad = []
    for css in sorted(site.rglob("*.css")):
        text = read(css)
        for _, u in CSS_URL.findall(text) + CSS_IMPORT.findall(text):
            if EXTERNAL.match(u):
                bad.append(f"{css.relative_to(site)}: {u}")
    assert not bad, "CSS loads from outside the site:\n" + "\n".join(bad[:20])


def test_every_built_page_lang_h1_and_counterpart(site):
    """Pages beyond the chapters (labs, anything a plugin adds): language, a title, a counterpart."""
    chapters = {url_path(s, lang) for s, lang in pages()}
    problems = []
    found = built_pages(site)
    paths = {p for p, _ in found}
    for path, lang in found:
        doc = read(site / path.lstrip("/") / "index.html")
        m = re.search(r"<html\b[^>]*\blang=\"([^\"]+)\"", doc)
        if not m or m.group(1) != lang:
            problems.append(f"{path}: <html lang> is {m.group(1) if m else None!r}, expected {lang!r}")
        if not re.search(r"<h1\b", doc):
            problems.append(f"{path}: no <h1>")
        other = path[len("/zh"):] if lang == "zh" else "/zh" + path
        if other not in paths:
            problems.append(f"{path}: no counterpart {other}")
        if path not in chapters:
            problems += [f"{path}: {r}" for r in _external_refs(doc)]
    assert len(found) >= 2 * len(slugs())
    assert not problems, "\n".join(problems[:20])


def test_other_html_files_load_nothing_external(site):
    """404.html and anything else the theme writes."""
    known = {page_file(site, s, lang) for s, lang in pages()}
    bad = []
    for f in sorted(site.rglob("*.html")):
        if f not in known:
            bad += [f"{f.relative_to(site)}: {r}" for r in _external_refs(read(f))]
    assert not bad, "\n".join(bad[:20])


def test_external_reference_detector():
    """The detector itself: it must flag what it is meant to flag."""
    doc = ('<html><head><script src="https://cdn.example/x.js"></script>'
           '<link rel="stylesheet" href="//fonts.example/css"><link rel="canonical" href="https://a.b/">'
           '</head><body><img src="assets/a.png"><img srcset="a.png 1x, http://x/b.png 2x">'
           '<div style="background:url(\'https://x/y.png\')"></div><a href="https://paper.example/">paper</a>'
           '<svg><use href="#local"></use><image href="https://x/i.png"></image></svg></body></html>')
    refs = _external_refs(doc)
    assert len(refs) == 5, refs


def test_charset_declared_in_first_1024_bytes_before_any_script(site):
    """Every HTML page declares its encoding within its first 1024 bytes (HTML's prescan limit,
    Lighthouse's ``charset`` audit), and the search hook's script stays the first script."""
    bad = []
    for f in sorted(site.rglob("*.html")):
        raw = f.read_bytes()
        head = raw[:1024].decode("utf-8", "ignore")
        if not re.search(r"<meta\s+charset=[\"']?utf-8", head, re.I):
            bad.append(f"{f.relative_to(site)}: no <meta charset> in the first 1024 bytes")
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", raw.decode("utf-8"), re.S)
        hook = [i for i, s in enumerate(scripts) if "gdSearch" in s]
        if hook and hook != [0]:
            bad.append(f"{f.relative_to(site)}: the search hook's script is not the first script ({hook})")
    assert not bad, "\n".join(bad[:20])


def test_sitemap_lists_both_languages(site):
    sitemap = read(site / "sitemap.xml")
    for slug in slugs():
        for lang in LANGS:
            assert f"{url_path(slug, lang)}</loc>" in sitemap, f"sitemap.xml lacks {lang}/{slug}"


def test_search_index_is_split_by_language(site):
    """hooks/search.py: one index per language, each with only its pages; no merged index."""
    import json

    assert not (site / "search" / "search_index.json").exists()
    for lang in ("en", "zh"):
        index = json.loads(read(site / "search" / f"search_index.{lang}.json"))
        locations = [d["location"] for d in index["docs"]]
        assert len(locations) > 100 and set(index["config"]["lang"]) == {"en", "zh"}
        assert all(loc.startswith("zh/") == (lang == "zh") for loc in locations), lang
        assert len(set(locations)) == len(locations), f"{lang}: entries listed twice"


def test_search_split_lists_each_entry_once(tmp_path):
    """Under `serve --dirty` Material merges the last build's index with the new one once per
    language build, so every rebuild listed each entry again (the index doubled); the last counts."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("gdbook_hooks_search", ROOT / "hooks" / "search.py")
    search = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(search)
    (tmp_path / "search").mkdir()
    docs = [{"location": "a/", "text": "old"}, {"location": "zh/a/", "text": "旧"}, {"location": "a/#x", "text": "x"},
            {"location": "a/", "text": "new"}, {"location": "zh/a/", "text": "新"}]
    (tmp_path / "search" / "search_index.json").write_text(json.dumps({"config": {}, "docs": docs}), encoding="utf-8")
    search.split(tmp_path)
    en = json.loads((tmp_path / "search" / "search_index.en.json").read_text(encoding="utf-8"))["docs"]
    zh = json.loads((tmp_path / "search" / "search_index.zh.json").read_text(encoding="utf-8"))["docs"]
    assert en == [{"location": "a/", "text": "new"}, {"location": "a/#x", "text": "x"}]
    assert zh == [{"location": "zh/a/", "text": "新"}]


FIGURE_IMG = re.compile(r'<img class="gd-svg" src="((?:\.\./)*assets/figures/([0-9a-f]{16})\.svg)" alt="([^"]*)" '
                        r'width="(\d+)" height="(\d+)"')
# bytes: what a reader downloads for a page (its HTML and figure files, gzip-compressed as GitHub
# Pages serves them), one figure file, the whole site (issue "Build performance"). KaTeX's markup
# had raised the site's budget to 38 MB; the math is MathML now (hooks/typeset.py) and the figure
# files minified (hooks/figures.py), and the site is back under the 25 MB.
PAGE_BUDGET, FIGURE_BUDGET, SITE_BUDGET = 300_000, 250_000, 25_000_000


def _figures(site: Path, page: Path) -> list[Path]:
    return [(page.parent / m.group(1)).resolve() for m in FIGURE_IMG.finditer(read(page))]


def test_page_weight_budgets(site):
    """Every page ≤ 300 KB transferred with its figure files, every figure ≤ 250 KB, the site ≤ 25 MB."""
    import gzip

    heavy, big_figures = [], []
    for page in sorted(site.rglob("*.html")):
        figures = _figures(site, page)
        size = sum(len(gzip.compress(f.read_bytes(), 6)) for f in {page, *figures})
        if size > PAGE_BUDGET:
            heavy.append(f"{page.relative_to(site)}: {size:,} B")
        big_figures += [f"{f.name}: {f.stat().st_size:,} B" for f in figures if f.stat().st_size > FIGURE_BUDGET]
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    assert not heavy, "pages over 300 KB transferred:\n" + "\n".join(heavy)
    assert not big_figures, "figures over 250 KB:\n" + "\n".join(big_figures)
    assert total <= SITE_BUDGET, f"the site is {total:,} B, over {SITE_BUDGET:,} B"


def test_figures_are_same_site_files_with_alt_text_and_size(site):
    """Every figure of every page (hooks/figures.py) is an <img> of an SVG file of the site, named by
    its content, with alt text and its size; only the page's first figure loads eagerly. No chapter
    keeps an inline figure (a lab keeps its few: nbconvert re-serialises their SVG as HTML), no page
    a figure hidden from the search plugin, and the index holds none."""
    problems, used = [], set()
    for page in sorted(site.rglob("*.html")):
        text, where = read(page), page.relative_to(site)
        lab = "labs" in where.parts
        if "data-gd-hidden" in text or (not lab and re.search(r'<svg\b[^>]*class="gd-svg"', text)):
            problems.append(f"{where}: an inline figure is left")
        for n, m in enumerate(FIGURE_IMG.finditer(text)):
            f = (page.parent / m.group(1)).resolve()
            used.add(f)
            tag = text[m.start(): text.index(">", m.start())]
            if not f.is_file():
                problems.append(f"{where}: missing {m.group(1)}")
                continue
            svg = f.read_text(encoding="utf-8")
            if not (svg.startswith("<svg") and "<path" in svg and 'xmlns="http://www.w3.org/2000/svg"' in svg):
                problems.append(f"{where}: {f.name} is not a drawn SVG")
            if hashlib.sha256(f.read_bytes()).hexdigest()[:16] != m.group(2):
                problems.append(f"{where}: {f.name} is not named by its content")
            if not m.group(3).strip():
                problems.append(f"{where}: a figure without alt text")
            if ('loading="lazy"' in tag) != (n > 0):
                problems.append(f"{where}: figure {n + 1} should load {'lazily' if n else 'eagerly'}")
    files = set((site / "assets" / "figures").glob("*.svg"))
    problems += [f"unused figure file {f.name}" for f in sorted(files - {u for u in used})]
    assert used, "no figure found"
    assert not problems, "\n".join(problems[:30])
    for lang in ("en", "zh"):
        index = read(site / "search" / f"search_index.{lang}.json")
        assert "data-gd-hidden" not in index and "<svg" not in index and '<math' not in index


MATH_FONT_CHARS = ROOT / "tests" / "math-font-chars.txt"
# Characters a formula may hold that the math font has not: the browser draws them with the
# page's own fonts. Chinese in \text{} on Chinese pages; U+203E, which Temml writes for \bar.
NOT_MATH_FONT = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\u203e\s]")


def test_every_character_of_every_formula_is_in_the_math_font(site):
    """The book's Latin Modern Math is a subset (tools/make_math_font.py), and each page is served
    a subset of that with the characters its formulas draw (hooks/mathfont.py): a character either
    lacks would be drawn in another font, out of place. Each page declares its font in its head
    (with a preload link beside it), one without math declares none, and the whole font is not
    served."""
    import html as htmlmod

    from fontTools.ttLib import TTFont

    head, *rows = MATH_FONT_CHARS.read_text(encoding="utf-8").splitlines()
    font = ROOT / "hooks" / "temml" / "latinmodernmath.woff2"
    assert head.endswith(hashlib.sha256(font.read_bytes()).hexdigest()), "run tools/make_math_font.py again"
    chars = {chr(int(r, 16)) for r in rows}
    missing: dict[str, str] = {}
    pages_with_math = 0
    served: dict[Path, set[str]] = {}
    for page in sorted(site.rglob("*.html")):
        text = read(page)
        formulas = re.findall(r"<math\b.*?</math>", text, re.S)
        pages_with_math += bool(formulas)
        preloads = re.findall(r'<link rel="preload" href="([^"]+)" as="font" type="font/woff2" crossorigin>', text)
        faces = re.findall(r'<style>@font-face\{font-family:"Latin Modern Math";src:url\("([^"]+)"\) format\("woff2"\);'
                           r'font-display:swap\}</style>', text)
        assert len(preloads) == len(faces) == (1 if formulas else 0), page
        if not formulas:
            continue
        assert preloads == faces and text.index(preloads[0]) < text.index("Temml-Latin-Modern.css"), page
        file = (page.parent / preloads[0]).resolve()
        assert file.parent == (site / "assets/temml/fonts").resolve() and file.is_file(), page
        if file not in served:
            served[file] = {chr(c) for c in TTFont(file).getBestCmap()}
        for formula in formulas:
            drawn = htmlmod.unescape(re.sub(r"<[^>]+>", "", formula))
            # a one-letter <mi> is drawn in italic (MathML's math-auto): its Mathematical Italic form
            drawn += "".join(_math_italic(htmlmod.unescape(c)) for c in _ONE_LETTER_MI.findall(formula))
            # the browser draws a root's radical sign itself, from the font's √ and its larger sizes
            drawn += "\u221a" if re.search(r"<m(sqrt|root)\b", formula) else ""
            for ch in drawn:
                if not NOT_MATH_FONT.match(ch) and (ch not in chars or ch not in served[file]):
                    missing.setdefault(f"U+{ord(ch):04X} {ch}", str(page.relative_to(site)))
    assert pages_with_math > 40 and not missing, f"characters not in the math font: {missing}"
    assert 1 < len(served) < pages_with_math  # a subset per set of characters, shared where equal
    for file in served:
        assert TTFont(file)["MATH"] and file.name == hashlib.sha256(file.read_bytes()).hexdigest()[:16] + ".woff2"
    assert not any(p.name == font.name for p in site.rglob("*.woff2"))


_ONE_LETTER_MI = re.compile(r"<mi>([^<&]|&[^;]+;)</mi>")
_ITALIC = {**{chr(0x41 + i): chr(0x1D434 + i) for i in range(26)}, **{chr(0x61 + i): chr(0x1D44E + i) for i in range(26)},
           "h": "\u210e", "ı": "\U0001d6a4", "ȷ": "\U0001d6a5", "∂": "\U0001d715", "∇": "\U0001d6fb",
           **{chr(0x391 + i): chr(0x1D6E2 + i) for i in range(25) if i != 17},  # Α–Ω (no U+03A2)
           **{chr(0x3B1 + i): chr(0x1D6FC + i) for i in range(25)},  # α–ω
           "ϵ": "\U0001d716", "ϑ": "\U0001d717", "ϰ": "\U0001d718", "ϕ": "\U0001d719", "ϱ": "\U0001d71a",
           "ϖ": "\U0001d71b"}


def _math_italic(ch: str) -> str:
    """The character the browser draws for a one-letter ``<mi>`` (MathML Core's italic mapping)."""
    return _ITALIC.get(ch, ch)


RAW_TEX = re.compile(r"\\(?:tag|frac|begin|end|mathbf|label|eqref|qquad|sum|sqrt|left|right)\b|\\[\[\]()]")
NOT_PROSE = re.compile(r"<(pre|code|math|script|style|textarea)\b.*?</\1>", re.S)


def test_code_names_are_plain_text_and_look_the_same(site):
    """Pygments' name spans are dropped from the Markdown pages' code (hooks/highlight.py)
    because Material colours names as the code around them, in both schemes: checked here in
    the stylesheets the site serves, so a theme that starts colouring names fails this test."""
    from test_serve import hook

    assert hook.highlight.plain_names('<span class="n">x</span><span class="o">=</span><span class="n">y</span>') == \
        'x<span class="o">=</span>y'
    css = [p.read_text(encoding="utf-8") for p in (site / "assets" / "stylesheets").glob("*.css")]
    assert ".highlight .kc,.highlight .n{color:var(--md-code-hl-name-color)}" in "".join(css)
    names = re.findall(r"--md-code-hl-name-color:([^;}]*)", "".join(css))
    assert names and set(names) == {"var(--md-code-fg-color)"}, names
    highlighted = 0
    for slug, lang in pages():
        text = read(page_file(site, slug, lang))
        highlighted += 'class="highlight"' in text
        assert '<span class="n">' not in text, (slug, lang)
    assert highlighted > 20


def test_no_raw_tex_is_left_in_the_prose(site):
    """Every formula reaches the reader typeset: no TeX command or math delimiter is left in a
    page's text outside code (a display equation that Markdown did not see as one stays raw)."""
    found = []
    for page in sorted(site.rglob("*.html")):
        text = re.sub(r"<[^>]+>", " ", NOT_PROSE.sub(" ", read(page)))
        found += [f"{page.relative_to(site)}: …{text[max(0, m.start() - 40):m.end() + 40]}…"
                  for m in RAW_TEX.finditer(text)]
    assert not found, f"{len(found)} raw TeX fragment(s):\n" + "\n".join(found[:20])


def test_the_blocks_that_hold_a_table_are_marked_and_no_others(site):
    """book.css defers the layout of a page's blocks, except those that hold a table, which the
    build marks with a class (hooks/tables.py; :has(table) cost the browser a restyle at every
    change): the elements of the page's content that hold a table are exactly those marked."""
    checked = 0
    for page in sorted(site.rglob("index.html")):
        text = read(page)
        if "<table" not in text and "gd-table" not in text:
            continue
        article = BeautifulSoup(text[text.index("<article"):text.index("</article>") + 10], "html.parser").article
        wrong = [f"{el.name}.{'.'.join(el.get('class') or [])}" for el in article.find_all(True)
                 if ("gd-table" in (el.get("class") or [])) != (el.find("table") is not None)]
        assert not wrong, f"{page.relative_to(site)}: marked without a table inside, or not marked with one: {wrong[:5]}"
        checked += bool(article.find("table"))
    assert checked > 40


def test_the_labs_share_one_pruned_stylesheet(site):
    """nbconvert's CSS leaves the lab pages for one stylesheet, named by its content, without the
    rules no lab can match (hooks/notebook_css.py): pruning it again leaves it as it is."""
    from test_serve import hook

    (sheet,) = (site / "assets" / "stylesheets").glob("notebook-*.css")
    css = sheet.read_text(encoding="utf-8")
    assert sheet.name == f"notebook-{hashlib.sha256(css.encode()).hexdigest()[:10]}.css"
    labs = sorted((site / "labs").glob("*/index.html")) + sorted((site / "zh" / "labs").glob("*/index.html"))
    assert len(labs) >= 8 and all(f'/{sheet.name}"' in read(p) for p in labs)
    scripts = "".join(read(p) for p in sorted((site / "assets" / "javascripts").glob("*.js")))
    assert hook.notebook_css.prune(css, hook.notebook_css.used_classes([read(p) for p in labs], scripts)) + "\n" == css
    assert ".jp-Cell" in css and ".highlight-ipynb .k" in css
