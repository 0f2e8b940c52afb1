"""Numbered equations (hooks/numbering.py): labels, tags, references within and across chapters."""

from __future__ import annotations

import importlib.util
import sys

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
    assert '<span id="eq-first"></span>\n\\[\na = b \\tag{1.1}\n\\]' in md
    assert '<span id="eq-second"></span>\n$$ c \\tag{1.2} $$' in md
    assert "\\[ unnumbered \\]" in md and "\\label" not in md


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
