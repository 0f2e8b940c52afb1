"""Numbered equations (hooks/numbering.py): labels, tags, references within and across chapters."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest
import yaml

from conftest import ROOT, slugs, source

_spec = importlib.util.spec_from_file_location("gdbook_hooks_numbering", ROOT / "hooks" / "numbering.py")
num = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = num
_spec.loader.exec_module(num)

NAV = ["index.md", {"Part I · A": ["one.md", "two.md"]}, {"Labs": ["labs/x.ipynb"]},
       {"Reference": [{"Glossary": "glossary.md"}]}]
ONE = "Text.\n\n\\[\na = b \\label{eq:first}\n\\]\n\n$$ c \\label{eq:second} $$\n\n\\[ unnumbered \\]\n"
TWO = "See \\eqref{eq:second} and [](#eq:third).\n\n\\[\nd \\label{eq:third}\n\\]\n"


def idx():
    return num.index({"one.md": ONE, "two.md": TWO}, num.chapter_numbers(NAV))


def test_chapters_are_the_parts_pages_in_nav_order():
    assert num.chapter_numbers(NAV) == {"one.md": "1", "two.md": "2"}


def test_the_book_s_chapter_numbers_match_the_pdf_editions():
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)["nav"]
    chapters = num.chapter_numbers(nav)
    assert chapters["optimization-and-deep-learning.md"] == "1"
    assert list(chapters.values()) == [str(i) for i in range(1, len(chapters) + 1)]


def test_labels_become_tags_and_anchors():
    md, problems = num.process(ONE, "one.md", idx())
    assert problems == []
    assert '<span id="eq-first"></span>\n\n\\[\na = b \\tag{1.1}\n\\]' in md
    assert '<span id="eq-second"></span>\n\n$$ c \\tag{1.2} $$' in md
    assert "\\[ unnumbered \\]" in md and "\\label" not in md


@pytest.mark.parametrize("indent", ["", "    "])
def test_a_numbered_equation_is_still_display_math_for_markdown(indent):
    """The anchor must not join the equation's block: display math that does not start a block
    is left as raw TeX (every numbered equation of the book was, until this test)."""
    import markdown

    src = f"Text.\n\n{indent}\\[\n{indent}a = b \\label{{eq:first}}\n{indent}\\]\n"
    if indent:
        src = "- An item.\n\n" + src.replace("Text.", "    Text.")
    md, problems = num.process(src, "one.md", idx())
    html = markdown.markdown(md, extensions=["pymdownx.arithmatex"], extension_configs={"pymdownx.arithmatex": {"generic": True}})
    assert problems == [] and '<span id="eq-first"></span>' in html
    assert re.search(r'<div class="arithmatex">\\\[\s*a = b \\tag\{1\.1\}\s*\\\]</div>', html), html


def test_references_within_and_across_chapters():
    md, problems = num.process(TWO, "two.md", idx())
    assert problems == []
    assert "See [(1.2)](one.md#eq-second) and [(2.1)](#eq-third)." in md
    assert "\\tag{2.1}" in md


def test_labels_in_code_are_left_alone():
    md = "```latex\n\\[ x \\label{eq:code} \\]\n```\n"
    assert num.labels(md) == []
    assert num.process(md, "one.md", idx()) == (md, [])


def test_unknown_and_repeated_labels_are_problems():
    _, problems = num.process("\\eqref{eq:nowhere}\n", "one.md", idx())
    assert problems == ["reference to an unknown equation eq:nowhere"]
    _, problems = num.process(ONE + "\\[ z \\label{eq:first} \\]\n", "one.md", idx())
    assert "equation label eq:first used twice" in problems


def test_both_languages_label_the_same_equations_in_the_same_order():
    for slug in slugs():
        en, zh = source(slug, "en"), source(slug, "zh")
        if zh.exists():
            assert num.labels(en.read_text(encoding="utf-8")) == num.labels(zh.read_text(encoding="utf-8")), slug


def test_equations_after_a_code_block_are_numbered():
    """A page's code blocks come before most of its equations: they must not shift where the
    hook looks for the math (it once left every \\label after a code block in place)."""
    page = "```python exec=\"on\"\nx = 1  # \\[ not math \\]\nprint(x)\n```\n\n" + ONE
    md, problems = num.process(page, "one.md", idx())
    assert problems == []
    assert "\\tag{1.1}" in md and "\\tag{1.2}" in md and "\\label" not in md
    assert md.startswith("```python exec=\"on\"\nx = 1  # \\[ not math \\]\n")


def test_every_chapter_s_labels_become_tags():
    """Every labelled equation of every chapter, both languages, is numbered: none is left for
    the typesetter to reject."""
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)["nav"]
    chapters = num.chapter_numbers(nav)
    sources = {src: (ROOT / "docs" / src).read_text(encoding="utf-8") for src in chapters}
    index = num.index(sources, chapters)
    for src in chapters:
        for lang, path in (("en", ROOT / "docs" / src), ("zh", ROOT / "docs" / src.replace(".md", ".zh.md"))):
            md, problems = num.process(path.read_text(encoding="utf-8"), src, index)
            assert problems == [], (lang, src, problems)
            assert md.count("\\tag{") == len(num.labels(sources[src])), (lang, src)
