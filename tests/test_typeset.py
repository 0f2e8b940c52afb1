"""Math typeset at build (hooks/typeset.py) and figures as files (hooks/figures.py)."""

from __future__ import annotations

import hashlib
import re

import pytest

from conftest import ROOT
from test_serve import hook

typeset, figures = hook.typeset, hook.figures


@pytest.fixture(scope="module")
def temml():
    return typeset.Temml(hook.TEMML_JS)


def test_arithmatex_math_is_typeset_in_place_as_mathml(temml):
    html = ('<p>a <span class="arithmatex">\\(x^2 &lt; 1\\)</span> b</p>'
            '<div class="arithmatex">\\[\\frac{1}{2} \\tag{3.1}\\]</div><span class="other">\\(y\\)</span>')
    errors = []
    out = typeset.page(html, temml, "t", errors)
    assert not errors
    assert ('<span class="arithmatex"><math><mrow><msup><mi>x</mi><mn class="tml-sml-pad">2</mn></msup><mo>&lt;</mo>'
            '<mn>1</mn></mrow></math></span>') in out  # MathML alone: the same markup for the eye and the screen reader
    assert '<div class="arithmatex"><math display="block"' in out and "<mfrac><mn>1</mn><mn>2</mn></mfrac>" in out
    assert '<mtext class="tml-tag">(3.1)</mtext>' in out  # the equation number numbering.py writes
    assert "\\(x^2" not in out and "<span" not in out.replace('<span class="arithmatex">', "").replace(
        '<span class="other">', "")
    assert out.endswith('<span class="other">\\(y\\)</span>')


def test_bold_symbols_become_bold_characters(temml):
    # MathML Core has no mathvariant="bold": the bold letter itself (U+1D407) is written.
    out = typeset.page('<span class="arithmatex">\\(\\mathbf{H}\\mathbf{x}\\)</span>', temml, "t", [])
    assert "<mi>\U0001d407</mi><mi>\U0001d431</mi>" in out and "mathvariant" not in out


def test_a_formula_temml_cannot_parse_is_reported_and_left_as_it_was(temml):
    html = '<span class="arithmatex">\\(\\frac{1}{2\\)</span> <span class="arithmatex">\\(z\\)</span>'
    errors = []
    out = typeset.page(html, temml, "en/page", errors)
    assert len(errors) == 1 and errors[0].startswith("en/page: Temml cannot typeset '\\\\frac{1}{2'")
    assert out.startswith('<span class="arithmatex">\\(\\frac{1}{2\\)</span>') and out.count("<math") == 1


def test_typesetting_is_deterministic_and_each_formula_is_typeset_once(temml):
    html = '<span class="arithmatex">\\(\\eta_t\\)</span>' * 3
    first = typeset.page(html, temml, "t", [])
    n = len(temml._done)
    assert typeset.page(html, temml, "t", []) == first and len(temml._done) == n
    assert first == typeset.page(html, typeset.Temml(hook.TEMML_JS), "t", [])


def test_notebook_markdown_cells_are_typeset_outside_code(temml):
    html = ('<div class="jp-Cell"><div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput" x="1">'
            '<p>Let $x_t$ and $$y = 2$$ but <code>$z$</code>, and \\(a\\) costs US$5.</p><div>in</div></div>'
            '<div class="jp-OutputArea">$not$ math</div></div>')
    errors = []
    out = typeset.notebook(html, temml, "lab", errors)
    assert not errors
    assert out.count("<math") == 3 and out.count('<math display="block"') == 1
    assert "<code>$z$</code>" in out and "US$5." in out and "$not$ math" in out


def test_a_page_with_math_declares_the_subset_of_the_math_font_it_draws(tmp_path):
    from fontTools.ttLib import TTFont

    css = '<link rel="stylesheet" href="../../assets/temml/Temml-Latin-Modern.css">'
    page = f"<head><meta charset=utf-8>{css}</head><body><p><math><mi>x</mi><mo>&#x2212;</mo><msqrt><mn>2</mn></msqrt></math></p></body>"
    fonts = hook.mathfont.MathFonts()
    out = fonts.page(page, tmp_path)
    (file,) = (tmp_path / "assets" / "temml" / "fonts").iterdir()
    url = f"../../assets/temml/fonts/{file.name}"
    head = (f'<link rel="preload" href="{url}" as="font" type="font/woff2" crossorigin>\n'
            f'<style>@font-face{{font-family:"Latin Modern Math";src:url("{url}") format("woff2");'
            'font-display:swap}</style>\n')
    assert out == page.replace(css, head + css)  # before Temml's stylesheet, with its base path
    font = TTFont(file)
    # the formula's characters, the italic x the browser draws for <mi>x</mi>, the radical sign
    # of the square root, and the space
    assert set(font.getBestCmap()) == {ord(c) for c in " x\U0001d465\u22122\u221a"}
    assert "MATH" in font and len(font.getGlyphOrder()) > 5  # the glyphs the MATH table reaches too
    again = hook.mathfont.MathFonts().page(page, tmp_path / "again")  # deterministic bytes
    assert again == out and (tmp_path / "again/assets/temml/fonts" / file.name).read_bytes() == file.read_bytes()
    no_math = page.replace("<math><mi>x</mi><mo>&#x2212;</mo><msqrt><mn>2</mn></msqrt></math>", "<code>&lt;mathematics&gt;</code>")
    assert fonts.page(no_math, tmp_path) == no_math


@pytest.mark.parametrize("ch, form", [("a", "\U0001d44e"), ("Z", "\U0001d44d"), ("h", "\u210e"), ("α", "\U0001d6fc"),
                                      ("Ω", "\U0001d6fa"), ("∂", "\U0001d715"), ("ϕ", "\U0001d719"), ("2", "2"),
                                      ("\u03a2", "\u03a2")])
def test_the_italic_form_of_a_letter_is_mathml_cores(ch, form):
    assert hook.mathfont.italic(ch) == form


def test_the_vendored_temml_and_math_font_are_documented():
    js = hook.TEMML_JS.read_text(encoding="utf-8")
    version = re.search(r'version:"([\d.]+)"', js).group(1)
    assert f"Temml {version}" in (ROOT / "README.md").read_text(encoding="utf-8"), "README names the vendored Temml"
    assert (hook.TEMML_JS.parent / "LICENSE").is_file()
    assets = ROOT / "docs" / "assets" / "temml"
    assert hook.mathfont.SOURCE.is_file() and (assets / "GUST-FONT-LICENSE.txt").is_file()
    assert f"Temml {version}'s" in (assets / "Temml-Latin-Modern.css").read_text(encoding="utf-8")


SVG = ('<svg role="img" aria-label="Loss &amp; steps" class="gd-svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
       'style="max-width:460.8pt" viewBox="0 0 460.8 345.6" xmlns="http://www.w3.org/2000/svg" version="1.1">'
       '<g><path d="M 0 0 L 1 1"/></g></svg>')


def test_figures_move_to_files_named_by_content(tmp_path):
    html = f'<figure class="gd-figure">{SVG}<figcaption>c</figcaption></figure>' * 2 + '<svg class="gd-x-live"></svg>'
    out = figures.extract(html, tmp_path, "../")
    files = list((tmp_path / "assets" / "figures").glob("*.svg"))
    assert len(files) == 1  # the same figure twice is one file
    data = files[0].read_bytes()
    assert files[0].name == hashlib.sha256(data).hexdigest()[:16] + ".svg"
    text = data.decode()
    assert text.startswith('<svg width="460.8pt" height="345.6pt" xmlns:xlink=') and "aria-label" not in text
    imgs = re.findall(r"<img [^>]*>", out)
    assert imgs[0] == (f'<img class="gd-svg" src="../assets/figures/{files[0].name}" alt="Loss &amp; steps" '
                       'width="614" height="461" decoding="async">')
    assert imgs[1].endswith('loading="lazy">')
    assert out.endswith('<svg class="gd-x-live"></svg>') and "<figcaption>c</figcaption>" in out


def test_a_figure_file_is_minified_and_draws_the_same():
    svg = ('<svg viewBox="0 0 10 10"><defs><path id="f1a-DejaVuSans-31" d="M 794 531 \nL 1825 531 \nz\n" '
           'transform="scale(0.015625)"/><clipPath id="f1a-p0"><rect x="1.234567" y="2"/></clipPath></defs>'
           '<g id="f1a-figure_1" clip-path="url(#f1a-p0)"><path d="M 52.482813 199.494828 \nL -0.0012 3.5 \n" '
           'style="fill: #ffffff; stroke-width: 0.8"/><g transform="translate(40.341406 214.092484) scale(0.1 -0.1)">'
           '<use xlink:href="#f1a-DejaVuSans-31" x="83.796875"/></g></g></svg>')
    out = figures.minify(svg)
    assert 'id="f1a-figure_1"' not in out  # unreferenced: dropped
    assert 'id="a" d="M 794 531 L 1825 531 z"' in out and 'xlink:href="#a"' in out  # referenced: renamed with its uses
    assert 'id="b"' in out and 'clip-path="url(#b)"' in out
    assert 'd="M 52.48 199.49 L 0 3.5"' in out and 'x="1.23"' in out and 'x="83.8"' in out
    assert "translate(40.34 214.09) scale(0.1 -0.1)" in out and 'transform="scale(0.015625)"' in out  # scales exact
    assert 'style="fill:#ffffff;stroke-width:0.8"' in out


@pytest.mark.parametrize("name", ["tables", "notebook_css"])
def test_hook_docstring_examples(name):
    import doctest

    result = doctest.testmod(getattr(hook, name))
    assert result.attempted > 0 and result.failed == 0


def test_the_labs_stylesheet_keeps_what_a_class_list_can_match():
    prune = hook.notebook_css.prune
    css = (".a:not(.x){k:1}"  # a class inside :not() is not required
           ":is(.x, .y) .a{k:2}"  # nor inside :is()
           ".a,.x .a{k:3}"  # one selector of two kept
           ".x\\:y{k:4}"  # escaped: kept as it is
           "@supports (display:grid){.x{k:5}.a{k:6}}"
           "@media (max-width:10px){.x{k:7}}"
           "@font-face{font-family:f}"
           "pre{k:8}")
    assert prune(css, {"a"}) == (".a:not(.x){k:1}:is(.x, .y) .a{k:2}.a{k:3}.x\\:y{k:4}"
                                 "@supports (display:grid){.a{k:6}}@font-face{font-family:f}pre{k:8}")
    assert prune(prune(css, {"a"}), {"a"}) == prune(css, {"a"})
