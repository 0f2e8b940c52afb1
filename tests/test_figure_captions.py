"""Figure captions as prose (hooks/figcaptions.py): numbering, references, problems, folding,
and the book's pages written that way."""

from __future__ import annotations

import importlib.util
import re
import sys
import textwrap

import markdown
import pytest

from conftest import ROOT, slugs, source

_spec = importlib.util.spec_from_file_location("gdbook_hooks_figcaptions", ROOT / "hooks" / "figcaptions.py")
fc = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fc
_spec.loader.exec_module(fc)

FIG = '<figure class="gd-figure"><svg role="img" aria-label="figure" class="gd-svg" viewBox="0 0 1 1">{}</svg></figure>'
EXPLORABLE = (
    '<div class="gd-explorable" id="gdx-1" data-kind="gd" lang="en"><figure class="gd-figure gd-x-fallback">'
    '<svg role="img" aria-label="static" class="gd-svg" viewBox="0 0 1 1">e</svg><figcaption>Without JavaScript: '
    'c = 1.</figcaption></figure><div class="gd-x-live" hidden data-search-exclude><div class="gd-x-controls"></div>'
    '<div class="gd-x-plots"></div><div class="gd-x-status" aria-live="polite"></div></div>'
    '<template class="gd-x-data">{}</template></div>')


def block(*html: str, attrs: str = "") -> str:
    """An executed block that prints ``html`` (what gd.svg / gd.explore.html return)."""
    prints = "\n".join(f"print({h!r})" for h in html)
    return f'```python exec="on"{attrs}\n{prints}\n```\n'


def caption(label: str, text: str, alt: str = "A description.") -> str:
    return f"\n/// figure | {label}\nalt: {alt}\n{text}\n///\n"


ONE = ("# One\n\n" + block(FIG.format("a"), FIG.format("b"))
       + caption("fig:first", "The first, see [](#fig:second).")
       + caption("fig:second", "The second, with \\(x^2\\).")
       + "\nText about [](#fig:first).\n")
TWO = "# Two\n\n" + block(EXPLORABLE) + caption("fig:third", "Try it; [](#fig:first) is static.") + "\n"
HOME = "# Home\n\n" + block(FIG.format("h")) + caption("fig:home", "On the home page.")


def idx():
    return fc.index({"index.md": HOME, "one.md": ONE, "two.md": TWO}, {"one.md": "1", "two.md": "2"})


def render(md: str) -> str:
    """The page's Markdown as the book renders it: markdown-exec runs the blocks."""
    import markdown_exec

    fences = [{"name": "python", "class": "python", "validator": markdown_exec.validator,
               "format": markdown_exec.formatter}]
    md = md.replace('exec="on"', 'exec="on" session="test-figcaptions"')
    return markdown.Markdown(
        extensions=["md_in_html", "attr_list", "admonition", "pymdownx.details", "pymdownx.superfences",
                    "pymdownx.arithmatex"],
        extension_configs={"pymdownx.superfences": {"custom_fences": fences},
                           "pymdownx.arithmatex": {"generic": True}},
    ).convert(md)


def build(md: str, src: str, lang: str = "en") -> tuple[str, list[str]]:
    text, problems = fc.process(md, src, idx(), lang)
    html, more = fc.attach(render(text), lang)
    return html, problems + more


# ---------------------------------------------------------------------------
# Numbering and references
# ---------------------------------------------------------------------------


def test_figures_are_numbered_per_chapter_in_page_order():
    assert idx() == {"fig:home": ("index.md", None), "fig:first": ("one.md", "1.1"),
                     "fig:second": ("one.md", "1.2"), "fig:third": ("two.md", "2.1")}
    assert fc.labels(ONE) == ["fig:first", "fig:second"]


def test_labels_in_code_are_not_labels():
    assert fc.labels("```text\n/// figure | fig:code\n///\n```\n") == []


def test_references_within_and_across_chapters_in_each_language():
    md, problems = fc.process("See [](#fig:second) and [](#fig:third).\n", "one.md", idx(), "en")
    assert problems == []
    assert md == "See [Figure 1.2](#fig-second) and [Figure 2.1](two.md#fig-third).\n"
    md, _ = fc.process("见[](#fig:third)。\n", "one.md", idx(), "zh")
    assert md == "见[图 2.1](two.md#fig-third)。\n"


def test_the_caption_goes_into_the_figure_above_with_number_alt_and_anchor():
    html, problems = build(ONE, "one.md")
    assert problems == []
    first, second = re.findall(r"<figure\b.*?</figure>", html, re.S)
    assert first.startswith('<figure class="gd-figure" id="fig-first"><svg role="img" aria-label="A description."')
    assert ('<figcaption><span class="gd-fig-number">Figure 1.1.</span> The first, see '
            '<a href="#fig-second">Figure 1.2</a>.</figcaption>') in first
    assert '<span class="arithmatex">\\(x^2\\)</span>' in second and ">a</svg>" in first and ">b</svg>" in second
    assert '<p>Text about <a href="#fig-first">Figure 1.1</a>.</p>' in html


def test_chinese_captions_are_numbered_in_chinese():
    html, problems = build(ONE, "one.md", "zh")
    assert problems == []
    assert '<span class="gd-fig-number">图 1.1</span> The first, see <a href="#fig-second">图 1.2</a>' in html


def test_an_explorable_is_captioned_in_its_static_figure_and_its_live_part():
    html, problems = build(TWO, "two.md")
    assert problems == []
    assert '<span id="fig-third"></span>' in html
    assert 'aria-label="A description."' in html and 'aria-label="static"' not in html
    assert ('<figcaption><span class="gd-fig-number">Figure 2.1.</span> Try it; '
            '<a href="one.md#fig-first">Figure 1.1</a> is static. Without JavaScript: c = 1.</figcaption>') in html
    assert '<p class="gd-x-caption"><span class="gd-fig-number">Figure 2.1.</span> Try it;' in html


def test_a_figure_outside_the_chapters_has_no_number():
    html, problems = build(HOME, "index.md")
    assert problems == []
    assert '<figure class="gd-figure" id="fig-home">' in html
    assert "<figcaption>On the home page.</figcaption>" in html


def test_nothing_of_the_syntax_reaches_the_html():
    for md, src in ((ONE, "one.md"), (TWO, "two.md"), (HOME, "index.md")):
        html, _ = build(md, src)
        for leak in ("///", "alt:", "gd-caption", "data-gd-", "fig:", "markdown="):
            assert leak not in html, (src, leak)


def test_caption_blocks_keep_the_line_numbers():
    md, _ = fc.process(ONE, "one.md", idx(), "en")
    assert md.count("\n") == ONE.count("\n")
    assert md.splitlines()[-1] == "Text about [Figure 1.1](#fig-first)."


# ---------------------------------------------------------------------------
# Problems (each a warning: the strict build fails)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("page, expected", [
    (block(FIG) + "\n/// figure | fig:first\nThe caption.\n///\n", "fig:first has no alt text"),
    (block(FIG) + "\n/// figure | fig:first\nalt: Alt.\n///\n", "fig:first has no caption"),
    (block(FIG) + caption("first", "C."), "without a label fig:<name>"),
    (block(FIG) + caption("fig:first", "C.") + caption("fig:first", "C."), "fig:first used twice"),
    (block(FIG) + caption("fig:elsewhere", "C."), "fig:elsewhere is not in the English page one.md"),
    ("Text.\n" + caption("fig:first", "C."), "does not follow the block that prints the figure"),
    (block(FIG) + "\nSee [](#fig:nowhere).\n", "reference to an unknown figure fig:nowhere"),
    (block(FIG) + "\nSee [](#fig:home).\n", "has no number (not in a chapter)"),
])
def test_problems_are_reported(page, expected):
    _, problems = fc.process(page, "one.md", idx(), "en")
    assert any(expected in p for p in problems), problems


def test_a_problem_names_the_line():
    _, problems = fc.process("Text.\n\n" + block(FIG) + "\n/// figure | fig:first\nC.\n///\n", "one.md", idx(), "en")
    assert problems == ["line 7: figure fig:first has no alt text (a line 'alt: ...')"]


def test_figures_and_captions_must_pair_up():
    _, problems = build("# One\n\n" + block(FIG.format("a"), FIG.format("b")) + caption("fig:first", "C."), "one.md")
    assert problems == ["figure 1 of the page has no caption (the caption at line 8 is the next one below it)"]
    _, problems = build("# One\n\n" + block("<p>no figure</p>") + caption("fig:first", "C."), "one.md")
    assert problems == ["line 7: figure caption fig:first is not below a figure"]
    _, problems = build("# One\n\n" + block(FIG.format("a")), "one.md")
    assert problems == ["figure 1 of the page has no caption (a /// figure block below the block that prints it)"]
    _, problems = build("# One\n\n" + block(FIG.format("a")) + caption("fig:first", "C.") + "\n" + block(FIG.format("b")),
                        "one.md")
    assert problems == ["figure 2 of the page has no caption (none below it)"]


def test_a_caption_also_given_in_code_is_a_problem():
    coded = FIG.format("a").replace("</figure>", "<figcaption>From code</figcaption></figure>")
    _, problems = build("# One\n\n" + block(coded) + caption("fig:first", "C."), "one.md")
    assert problems and "also has a caption from its code" in problems[0]


# ---------------------------------------------------------------------------
# Folding
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang, summary", [("en", "Code for the figure"), ("zh", "绘图代码")])
def test_folded_code_is_collapsed_and_its_figure_stays_visible(lang, summary):
    page = "# One\n\n" + block(FIG.format("a"), attrs=' source="above" fold="1"') + caption("fig:first", "C.")
    html, problems = build(page, "one.md", lang)
    assert problems == []
    details = re.search(r'<details class="gd-fold">\s*<summary>(.*?)</summary>(.*?)</details>', html, re.S)
    assert details and details.group(1) == summary
    assert "print" in details.group(2) and "gd-figure" in details.group(2)  # the code, highlighted
    assert "<details open" not in html and "fold=" not in html
    after = html[details.end():]
    assert after.lstrip().startswith('<figure class="gd-figure" id="fig-first">')  # shown once, below
    assert html.count("<code>") == 1  # the source is not shown twice


def test_only_marked_blocks_are_folded():
    page = block(FIG.format("a"), attrs=' source="above"') + caption("fig:first", "C.")
    md, _ = fc.process(page, "one.md", idx(), "en")
    assert "??? gd-fold" not in md and 'source="above"' in md


# ---------------------------------------------------------------------------
# The book's pages
# ---------------------------------------------------------------------------

FIGURE_CALL = re.compile(r"\b(?:gd\.svg|gd\.explore\.html)\(")


def _figure_calls(text: str) -> list[str]:
    code = re.findall(r'^```python exec="on"[^\n]*\n(.*?)^```', text, re.S | re.M)
    return [c for c in code if FIGURE_CALL.search(c)]


@pytest.mark.parametrize("slug", slugs())
def test_every_figure_of_a_page_is_captioned_in_prose(slug):
    for lang in ("en", "zh"):
        path = source(slug, lang)
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        calls = sum(len(FIGURE_CALL.findall(c)) for c in _figure_calls(text))
        assert len(fc.labels(text)) == calls, f"{path.name}: {calls} figures, {len(fc.labels(text))} captions"
        for code in _figure_calls(text):
            assert not re.search(r"\b(?:caption|alt)\s*=", code), f"{path.name}: caption or alt text in code"


def test_the_pages_labels_are_unique_across_the_book():
    seen: dict[str, str] = {}
    for slug in slugs():
        for label in fc.labels(source(slug, "en").read_text(encoding="utf-8")):
            assert label not in seen, f"{label} in {slug} and {seen[label]}"
            seen[label] = slug


def test_docstring_example():
    import doctest

    assert doctest.testmod(fc).failed == 0


def test_the_example_in_contributing_is_valid():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    m = re.search(r"(/// figure \| fig:[\w-]+\n.*?\n///)", text, re.S)
    assert m, "CONTRIBUTING.md shows how to caption a figure"
    example = textwrap.dedent(m.group(1))
    page = block(FIG.format("a")) + "\n" + example + "\n"
    label = fc.labels(example)[0]
    _, problems = fc.process(page, "one.md", fc.index({"one.md": page}, {"one.md": "1"}), "en")
    assert problems == [] and label.startswith("fig:")


# ---------------------------------------------------------------------------
# The labs: captions in the Markdown cell below a figure's code cell
# ---------------------------------------------------------------------------

LABS = ROOT / "docs" / "labs"
LAB_NAMES = sorted(p.name[: -len(".ipynb")] for p in LABS.glob("*.ipynb") if not p.name.endswith(".zh.ipynb"))


def lab(*cells):
    """A notebook of ``("md", text)`` and ``("code", html shown or None)`` cells, ids c01, c02, ..."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    for i, (kind, content) in enumerate(cells, start=1):
        if kind == "md":
            cell = nbformat.v4.new_markdown_cell(content)
        else:
            cell = nbformat.v4.new_code_cell("gd.svg(fig)")
            if content is not None:
                cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": content})]
        cell.id = f"c{i:02d}"
        nb.cells.append(cell)
    return nb


def lab_html(nb, lang="en", tmp_path=None):
    """The lab as the build renders it: figcaptions.notebook, nbconvert (mkdocs-jupyter), attach_lab."""
    import nbformat
    from mkdocs_jupyter.nbconvert2 import nb2html  # not the build's patched convert.nb2html

    problems = fc.notebook(nb, "labs/t.ipynb", lang)
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    html, more = fc.attach_lab(nb2html(str(path)), lang)
    return html, problems + more


LAB = lab(("md", "# Lab\n\nAs [](#fig:second) shows, \\(x^2\\) grows."),
          ("code", FIG.format("a")),
          ("md", "/// figure | fig:first\nalt: First figure.\nThe first, with \\(\\eta\\).\n///\n\nProse after it."),
          ("code", FIG.format("b")),
          ("md", "/// figure | fig:second\nalt: Second \"quoted\" figure.\nThe second.\n///"),
          ("md", "The end."))


@pytest.mark.parametrize("lang, word", [("en", "Figure {}."), ("zh", "图 {}")])
def test_a_lab_caption_goes_into_the_figure_of_the_code_cell_above(tmp_path, lang, word):
    import copy

    html, problems = lab_html(copy.deepcopy(LAB), lang, tmp_path)
    assert problems == []
    first, second = re.findall(r"<figure\b.*?</figure>", html, re.S)
    assert first.startswith('<figure class="gd-figure" id="fig-first">') and ">a</svg>" in first
    assert 'aria-label="First figure."' in first and 'aria-label="Second &quot;quoted&quot; figure."' in second
    assert f'<figcaption><span class="gd-fig-number">{word.format(1)}</span> The first, with $\\eta$.</figcaption>' in first
    assert f'<span class="gd-fig-number">{word.format(2)}</span> The second.</figcaption>' in second
    assert f'href="#fig-second">{word.format(2).rstrip(".")}</a>' in html
    assert "Prose after it." in html and "The end." in html
    assert "$x^2$" in html  # math kept for typeset.notebook, not read as escaped parentheses
    # the cell that held only a caption is gone; the others stay
    assert html.count("<div class=\"jp-Cell jp-MarkdownCell") == 3
    for leak in ("///", "alt:", "gd-caption", "data-gd-", "fig:"):
        assert leak not in html, leak


def test_lab_figures_stay_inline_with_their_alt_text(tmp_path):
    import copy

    figures = importlib.util.module_from_spec(importlib.util.spec_from_file_location("f", ROOT / "hooks" / "figures.py"))
    figures.__spec__.loader.exec_module(figures)
    html, _ = lab_html(copy.deepcopy(LAB), "en", tmp_path)
    assert figures.extract(html, tmp_path / "site", "") == html  # nbconvert's serialisation: not moved to a file
    assert re.search(r'<svg aria-label="First figure\." class="gd-svg" role="img"', html)


@pytest.mark.parametrize("cells, expected", [
    ([("md", "Text."), ("md", "/// figure | fig:x\nalt: A.\nC.\n///")],
     "cell c02, line 1: figure caption fig:x does not follow the block that prints the figure"),
    ([("code", FIG.format("a")), ("md", "Text first.\n\n/// figure | fig:x\nalt: A.\nC.\n///")],
     "cell c02, line 3: figure caption fig:x does not follow the block that prints the figure"),
    ([("code", FIG.format("a")), ("md", "/// figure | fig:x\nC.\n///")], "cell c02, line 1: figure fig:x has no alt text"),
    ([("code", FIG.format("a")), ("md", "/// figure | fig:x\nalt: A.\nC.\n///"), ("code", FIG.format("b")),
      ("md", "/// figure | fig:x\nalt: A.\nC.\n///")], "cell c04: figure label fig:x used twice"),
    ([("code", FIG.format("a")), ("md", "See [](#fig:gd-bowl).")], "reference to an unknown figure fig:gd-bowl"),
])
def test_lab_caption_problems_name_the_cell(cells, expected):
    problems = fc.notebook(lab(*cells), "labs/t.ipynb", "en")
    assert any(expected in p for p in problems), problems


def test_a_lab_figure_without_a_caption_is_a_problem(tmp_path):
    _, problems = lab_html(lab(("code", FIG.format("a")), ("md", "No caption.")), "en", tmp_path)
    assert problems == ["figure 1 of the page has no caption (a /// figure block below the block that prints it)"]
    _, problems = lab_html(lab(("code", "<p>no figure</p>"), ("md", "/// figure | fig:x\nalt: A.\nC.\n///")), "en", tmp_path)
    assert problems == ["cell c02, line 1: figure caption fig:x is not below a figure"]


@pytest.mark.parametrize("name", LAB_NAMES)
def test_every_figure_of_a_lab_is_captioned_in_prose(name):
    import nbformat

    found = {}
    for lang, path in (("en", LABS / f"{name}.ipynb"), ("zh", LABS / f"{name}.zh.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        calls = sum(len(FIGURE_CALL.findall(c)) for c in code)
        found[lang] = [label for c in nb.cells if c.cell_type == "markdown" for label in fc.labels(c.source)]
        assert len(found[lang]) == calls, f"{path.name}: {calls} figures, {len(found[lang])} captions"
        for c in code:
            assert not re.search(r"\b(?:caption|alt)\s*=", c), f"{path.name}: caption or alt text in code"
        assert fc.notebook(nb, f"labs/{name}.ipynb", lang) == [], path.name
    assert found["en"] == found["zh"], f"{name}: figure labels differ between the languages"


def test_jupyter_math_is_doubled_outside_code_only():
    assert fc._jupyter_math("a \\(x\\) \\\\(y\\\\) `\\(c\\)` \\[z\\]") == "a \\\\(x\\\\) \\\\(y\\\\) `\\(c\\)` \\\\[z\\\\]"
    assert fc._jupyter_math("```\n\\(x\\)\n```") == "```\n\\(x\\)\n```"
