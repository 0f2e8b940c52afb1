"""The PDF editions (tools/pdf.py): the print document, and both PDFs printed by Chromium.

The unit tests assemble the print document from a two-page site made here; the build tests
print the whole book of the session's build (or ``GDBOOK_SITE``) in both languages and read
the PDFs back with pypdf: an outline, every chapter's title, page numbers, the Chinese text
set in an embedded Noto Sans CJK (not boxes).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import re
from pathlib import Path

import pytest

from conftest import LANGS, ROOT

_spec = importlib.util.spec_from_file_location("gdbook_tools_pdf", ROOT / "tools" / "pdf.py")
pdf = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = pdf  # before exec: dataclasses look their module up
_spec.loader.exec_module(pdf)


# ---------------------------------------------------------------------------
# The book's order and the print document (no browser)
# ---------------------------------------------------------------------------


def test_the_config_is_read_with_its_environment_variables(monkeypatch):
    """The PDF's cover and its links to the site use site_url as the site's build resolves it."""
    monkeypatch.setenv("SITE_URL", "https://example.org/gdbook/")
    assert pdf.read_config()["site_url"] == "https://example.org/gdbook/"
    monkeypatch.delenv("SITE_URL")
    assert pdf.read_config()["site_url"] == "http://127.0.0.1:8000/"  # mkdocs.yml's default
    assert pdf.read_config()["repo_url"] is None or "REPO_URL" in os.environ


def test_chapters_are_numbered_in_nav_order():
    entries = pdf.book_order(pdf.read_config())
    chapters = [e for e in entries if e.kind == "chapter"]
    assert [e.number for e in chapters] == [str(i) for i in range(1, len(chapters) + 1)]
    assert chapters[0].src == "optimization-and-deep-learning.md"
    assert [e.number for e in entries if e.kind == "appendix"] == ["A", "B", "C", "D"]
    assert entries[0].src == "index.md" and entries[0].kind == "front"
    config = pdf.read_config()
    api = [src for src, _ in pdf._walk(config["nav"]) if isinstance(src, str) and src.startswith("api/")]
    assert "api/index.md" in api and not {e.src for e in entries} & set(api)


MINI_CONFIG = """
site_name: Mini
site_url: https://example.org/book/
nav:
  - Home: index.md
  - "Part I · One":
      - first.md
      - second.md
plugins:
  - i18n:
      languages:
        - locale: zh
          site_name: 迷你
          nav_translations:
            "Part I · One": 第一部分
"""

PAGE = """<!doctype html><html><head></head><body><nav>chrome</nav>
<article class="md-content__inner md-typeset">{body}</article><footer>chrome</footer></body></html>"""


@pytest.fixture
def mini(tmp_path):
    root, site = tmp_path, tmp_path / "site"
    (root / "mkdocs.yml").write_text(MINI_CONFIG, encoding="utf-8")
    bodies = {
        "": '<h1 id="mini">Mini</h1><p>Home.</p>',
        "first/": ('<h1 id="first">First</h1><h2 id="a">A<a class="headerlink" href="#a">¶</a></h2>'
                   '<h3 id="a1">A one</h3><h2 id="b">B</h2><p><a href="../second/#c">to C</a> '
                   '<a href="#a">to A</a> <a href="../api/">API</a> <img src="../assets/f.svg" loading="lazy"></p>'
                   '<details class="success"><summary>Solution</summary><p>42</p></details>'
                   '<script>x()</script><div class="gd-x-live" hidden>slider</div>'),
        "second/": '<h1 id="second">Second</h1><h2 id="c">C</h2>',
    }
    for prefix in ("", "zh/"):
        for path, body in bodies.items():
            f = site / prefix / path / "index.html"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(PAGE.format(body=body), encoding="utf-8")
    (site / "index.html").write_text(
        PAGE.format(body=bodies[""]).replace("<head>", '<head><link rel="stylesheet" href="assets/temml/Temml-Latin-Modern.css">'),
        encoding="utf-8")
    return root, site


def test_print_document(mini):
    root, site = mini
    html = pdf.Book(site, "en", root=root).html()
    assert "chrome" not in html and "<script>x()" not in html and "slider" not in html
    # cover, contents, the part, then the chapters with numbered sections
    assert html.index('class="cover"') < html.index('id="contents"') < html.index("Part I · One")
    assert re.search(r'<h2 class="chapter-title" data-chapter="1" id="first--first">First', html)
    assert '<span class="secnum">1.1</span> A' in html and '<span class="secnum">1.1.1</span> A one' in html
    assert '<span class="secnum">1.2</span> B' in html and '<span class="secnum">2.1</span> C' in html
    # links: within the book to ids in the document, elsewhere to the site
    assert 'href="#second--c"' in html and 'href="#first--a"' in html
    assert 'href="https://example.org/book/api/"' in html
    assert 'src="/assets/f.svg"' in html and "loading=" not in html
    assert re.search(r"<details[^>]*\bopen", html) and "¶" not in html
    assert 'href="/assets/temml/Temml-Latin-Modern.css"' in html


def test_print_document_in_chinese(mini):
    root, site = mini
    html = pdf.Book(site, "zh", root=root).html()
    assert '<html lang="zh-CN">' in html and "迷你" in html and "第一部分" in html
    assert 'data-chapter="第2章" id="second--second">Second' in html
    assert "https://example.org/book/zh/" in html


def test_heading_texts_are_what_the_outline_should_say():
    html = ('<h1 id="a">Title</h1><h2 class="sec"><span class="secnum">1.1</span> Two\n words</h2>'
            '<h3>With <span class="arithmatex"><math><msub><mi>x</mi><mi>t</mi></msub></math></span>'
            ' &amp; more</h3>')
    assert pdf.heading_texts(html) == ["Title", "1.1 Two words", "With xt & more"]


# ---------------------------------------------------------------------------
# The PDFs
# ---------------------------------------------------------------------------


def _require():
    from test_browser import _require_browser

    _require_browser()
    try:
        import pypdf  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("pypdf is not installed; the PDF tests must run under CI", pytrace=False)
        pytest.skip("pypdf is not installed (pip install pypdf)")


@pytest.fixture(scope="module")
def pdfs(site, tmp_path_factory):
    _require()
    out = tmp_path_factory.mktemp("pdf")
    pdf.print_pdfs(site, out, LANGS, log=lambda *a: None)
    return {lang: out / f"gdbook-{lang}.pdf" for lang in LANGS}


def _titles(site: Path, lang: str) -> list[str]:
    import html

    out = []
    for e in pdf.book_order(pdf.read_config()):
        f = site / e.url_path(lang).lstrip("/") / "index.html"
        m = re.search(r"<h1[^>]*>(.*?)</h1>", f.read_text(encoding="utf-8"), re.S)
        out.append(html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).replace("¶", "").strip())
    return out


def _outline(reader) -> list[str]:
    return [item.title for item in _outline_items(reader)]


def _outline_items(reader) -> list:
    out = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                out.append(item)
    walk(reader.outline)
    return out


def _squash(s: str) -> str:
    """Without white space, NFKC-normalized: pypdf reads ligatures (ﬁ) and, on the Chinese
    edition, Kangxi radicals (⾃ for 自) where the ToUnicode maps say so."""
    import html
    import unicodedata

    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", html.unescape(s)))


@pytest.mark.build
@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGS)
def test_pdf_outline_titles_and_page_numbers(pdfs, site, lang):
    from pypdf import PdfReader

    reader = PdfReader(pdfs[lang])
    items = _outline_items(reader)
    assert len(items) > 100, f"{lang}: the outline has only {len(items)} items"
    pages = {_squash(item.title): reader.get_destination_page_number(item) for item in reversed(items)}
    for title in _titles(site, lang):
        # exactly: Chromium repeated some headings' text in the outline (pdf.fix_outline)
        assert _squash(title) in pages, f"{lang}: {title!r} not in the outline"
        # the bookmark leads to the page that prints the title (extracting only those pages
        # keeps the test fast: the whole text of a 300-page edition takes minutes)
        page = pages[_squash(title)]
        assert _squash(title) in _squash(reader.pages[page].extract_text()), \
            f"{lang}: {title!r} not on page {page + 1}, where its bookmark leads"
    # the footer numbers the pages: page 10's text ends with 10
    assert reader.pages[9].extract_text().strip().endswith("10")


@pytest.mark.build
@pytest.mark.browser
def test_pdf_chinese_text_in_an_embedded_cjk_font(pdfs):
    from pypdf import PdfReader

    reader = PdfReader(pdfs["zh"])
    fonts = set()
    for page in reader.pages:
        for font in ((page.get("/Resources") or {}).get("/Font") or {}).values():
            font = font.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts") or []]
            for f in [font, *descendants]:
                desc = f.get("/FontDescriptor")
                if desc is None:
                    continue
                desc = desc.get_object()
                # Skia embeds a CFF-flavoured OpenType font (Noto Sans CJK) as a Type 3 font:
                # its glyphs are drawn by the PDF itself, so a Type 3 font is embedded by nature
                if f.get("/Subtype") == "/Type3" or any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    fonts.add(str(desc.get("/FontName")))
    assert any("NotoSansCJK" in f for f in fonts), f"no embedded Noto Sans CJK among {sorted(fonts)}"
    text = "".join(p.extract_text() for p in reader.pages[:60])
    assert "梯度下降" in text


@pytest.mark.build
@pytest.mark.browser
def test_each_home_page_links_both_pdf_editions_by_the_names_make_pdf_writes(pdfs, site):
    for home in (site / "index.html", site / "zh" / "index.html"):
        hrefs = set(re.findall(r'href="([^"]+\.pdf)"', home.read_text(encoding="utf-8")))
        assert {h.rsplit("/", 1)[-1] for h in hrefs} == {p.name for p in pdfs.values()}, (home, hrefs)
        assert all(h.endswith(f"downloads/{h.rsplit('/', 1)[-1]}") for h in hrefs), hrefs


def test_date_edition_gives_the_pdf_the_commit_date(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    w = pypdf.PdfWriter()
    w.add_blank_page(100, 100)
    w.add_metadata({"/CreationDate": "D:20261206090000+00'00'", "/Producer": "Skia/PDF"})
    w.write(tmp_path / "t.pdf")
    assert pdf.date_edition(tmp_path / "t.pdf", 86400 * 365) == "D:19710101000000+00'00'"
    meta = pypdf.PdfReader(tmp_path / "t.pdf").metadata
    assert meta["/CreationDate"] == meta["/ModDate"] == "D:19710101000000+00'00'" and meta["/Producer"] == "Skia/PDF"


def test_finish_puts_the_outline_right_and_dates_the_edition_in_one_pass(tmp_path):
    """print_pdfs finishes each PDF with ``finish``: what fix_outline and date_edition do, in one
    write (the same bytes as the two one after the other)."""
    pypdf = pytest.importorskip("pypdf")

    def printed(name):
        w = pypdf.PdfWriter()
        w.add_blank_page(100, 100)
        w.add_metadata({"/CreationDate": "D:20261206090000+00'00'", "/Producer": "Skia/PDF"})
        chapter = w.add_outline_item(title="7.47.4 Nesterov 动量 Nesterov 动量", page_number=0)
        w.add_outline_item(title="7.4.1 Two", page_number=0, parent=chapter)
        w.write(tmp_path / name)
        return tmp_path / name

    html = '<h2 class="sec">7.4 Nesterov 动量</h2><h3 class="sec">7.4.1 Two</h3>'
    once, twice = printed("once.pdf"), printed("twice.pdf")
    assert pdf.finish(once, html, 86400 * 365) == (1, "D:19710101000000+00'00'")
    assert pdf.fix_outline(twice, html) == 1 and pdf.date_edition(twice, 86400 * 365)
    reader = pypdf.PdfReader(once)
    assert [item.title for item in _outline_items(reader)] == ["7.4 Nesterov 动量", "7.4.1 Two"]
    assert reader.metadata["/CreationDate"] == reader.metadata["/ModDate"] == "D:19710101000000+00'00'"
    assert once.read_bytes() == twice.read_bytes()


@pytest.mark.build
@pytest.mark.browser
def test_the_printed_pdfs_carry_the_edition_date(pdfs):
    from pypdf import PdfReader

    stamp = time.strftime("D:%Y%m%d%H%M%S+00'00'", time.gmtime(pdf.edition_epoch()))
    for path in pdfs.values():
        assert PdfReader(path).metadata["/CreationDate"] == stamp, path
