"""The bibliography (hooks/bibliography.py, references.bib): citations and reference lists."""

from __future__ import annotations

import importlib.util
import os
import re
import sys

import pytest

from conftest import ROOT, source, slugs

try:
    import pybtex  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("pybtex is not installed (pip install pybtex)", allow_module_level=True)

_spec = importlib.util.spec_from_file_location("gdbook_hooks_bibliography", ROOT / "hooks" / "bibliography.py")
bib_mod = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bib_mod
_spec.loader.exec_module(bib_mod)

BIB = bib_mod.load(ROOT / "references.bib")

TWO = bib_mod.parse("""
@article{doe2020,
  author = {Doe, Jane and Roe, Rick}, title = {A title}, journal = {J. Things},
  volume = {3}, number = {2}, pages = {10--20}, year = {2020}, doi = {10.1000/xyz},
}
@inproceedings{ada2019,
  author = {Ada, Ann and Bee, Bob and Cee, Cid}, title = {Why?}, booktitle = {ICML},
  year = {2019}, eprint = {1901.00001},
}
@book{zed2001,
  author = {Zed, Zoe}, title = {The Book}, edition = {2nd}, publisher = {Pub},
  year = {2001}, zh-author = {泽德}, zh-title = {那本书}, zh-publisher = {出版社},
}
""")


def run(md, lang="en", bib=TWO):
    return bib_mod.process(md, bib, lang)


def test_the_bibliography_has_enough_entries_with_the_fields_a_list_needs():
    assert len(BIB.entries) >= 40
    for key, entry in BIB.entries.items():
        assert entry.fields.get("year"), key
        assert entry.fields.get("title"), key
        assert entry.persons.get("author") or entry.persons.get("editor"), key
        for lang in ("en", "zh"):
            assert bib_mod.reference(BIB, key, lang)


def test_identifiers_look_like_identifiers():
    for key, entry in BIB.entries.items():
        if "doi" in entry.fields:
            assert re.fullmatch(r"10\.\d{4,9}/\S+", entry.fields["doi"]), key
        if "eprint" in entry.fields:
            assert re.fullmatch(r"\d{4}\.\d{4,5}|[a-z-]+/\d{7}", entry.fields["eprint"]), key


@pytest.mark.parametrize("lang, expected", [
    ("en", "([Doe and Roe, 2020](#ref-doe2020))"),
    ("zh", "（[Doe 和 Roe，2020](#ref-doe2020)）"),
])
def test_parenthetical_citation_of_two_authors(lang, expected):
    md, problems = run("Shown [@doe2020].\n\n<!-- references -->\n", lang)
    assert problems == [] and expected in md


@pytest.mark.parametrize("lang, expected", [
    ("en", "[Ada et al. (2019)](#ref-ada2019)"),
    ("zh", "[Ada 等人（2019）](#ref-ada2019)"),
])
def test_narrative_citation_of_three_authors(lang, expected):
    md, problems = run("As @ada2019 showed.\n\n<!-- references -->\n", lang)
    assert problems == [] and expected in md


def test_several_works_and_a_locator():
    md, _ = run("[@doe2020; @zed2001, §3]\n<!-- references -->\n")
    assert "([Doe and Roe, 2020](#ref-doe2020); [Zed, 2001, §3](#ref-zed2001))" in md
    md, _ = run("[@doe2020; @zed2001, §3]\n<!-- references -->\n", "zh")
    assert "（[Doe 和 Roe，2020](#ref-doe2020)；[泽德，2001，§3](#ref-zed2001)）" in md


def test_reference_list_format_in_both_languages():
    en, _ = run("<!-- references: @doe2020 @ada2019 @zed2001 -->\n")
    lines = [line for line in en.splitlines() if line]
    # sorted by author: Ada, Doe, Zed; each line links to its anchor
    assert [re.search(r'id="ref-(\w+)"', line).group(1) for line in lines] == ["ada2019", "doe2020", "zed2001"]
    assert lines[1].endswith("J. Doe, R. Roe (2020). A title. *J. Things* 3(2), 10–20. "
                             "[doi:10.1000/xyz](https://doi.org/10.1000/xyz)")
    assert lines[0].endswith("A. Ada, B. Bee, C. Cee (2019). Why? *ICML*. "
                             "[arXiv:1901.00001](https://arxiv.org/abs/1901.00001)")
    assert lines[2].endswith("Z. Zed (2001). *The Book*, 2nd ed. Pub.")
    zh, _ = run("<!-- references: @doe2020 @zed2001 -->\n", "zh")
    assert "J. Doe, R. Roe（2020）。A title。*J. Things* 3(2), 10–20。[doi:10.1000/xyz]" in zh
    assert "泽德（2001）。《那本书》，第 2 版。出版社。" in zh


def test_chinese_prose_may_follow_a_key_directly():
    md, problems = run("@ada2019证明了这一点[@doe2020]。\n<!-- references -->\n", "zh")
    assert problems == []
    assert md.startswith("[Ada 等人（2019）](#ref-ada2019)证明了这一点（[Doe 和 Roe，2020](#ref-doe2020)）。")
    md, problems = run("这一点。@ada2019证明了它。\n<!-- references -->\n", "zh")
    assert problems == [] and md.startswith("这一点。[Ada 等人（2019）](#ref-ada2019)证明了它。")


def test_a_chinese_edition_can_drop_the_english_edition_s_arxiv_link():
    bib = bib_mod.parse("@book{b2020, author = {Bo, Bea}, title = {T}, year = {2020}, "
                        "eprint = {2001.00001}, zh-title = {书}, zh-eprint = {}}")
    assert "arXiv:2001.00001" in bib_mod.reference(bib, "b2020", "en")
    assert "arXiv" not in bib_mod.reference(bib, "b2020", "zh")


def test_code_math_and_links_are_not_citations():
    md = ("`[@doe2020]` and \\(x [@doe2020]\\) and <a@doe2020.org>\n\n"
          "```python\nx = '[@doe2020]'\n```\n")
    out, problems = run(md)
    assert out == md and problems == []


def test_unknown_keys_and_a_missing_list_are_problems():
    _, problems = run("[@nobody2020] and @ghost1999.\n<!-- references -->\n")
    assert problems == ["unknown citation key @nobody2020", "unknown citation key @ghost1999"]
    _, problems = run("[@doe2020]\n")
    assert problems == ["citations but no <!-- references --> marker for the reference list"]
    _, problems = run("<!-- references: @nope2000 -->\n")
    assert problems == ["unknown citation key @nope2000 in the references marker"]


def test_every_citation_in_the_chapters_is_in_the_bibliography():
    for slug in slugs():
        for lang in ("en", "zh"):
            md = source(slug, lang).read_text(encoding="utf-8")
            if bib_mod.USES.search(md):
                _, problems = bib_mod.process(md, BIB, lang)
                assert problems == [], f"{lang}/{slug}: {problems}"


def test_a_narrative_citation_may_run_straight_into_chinese_text():
    md, problems = run("按 @doe2020的写法。@zed2001指出，\n\n<!-- references -->\n", "zh")
    assert problems == []
    assert "按 [Doe 和 Roe（2020）](#ref-doe2020)的写法。[泽德（2001）](#ref-zed2001)指出，" in md


def test_a_thesis_with_a_chinese_type_and_school_is_listed_with_chinese_punctuation():
    bib = bib_mod.parse("@phdthesis{t1991, author = {Tee, Tom}, title = {Thesis}, school = {TU},"
                        " type = {Diploma thesis}, year = {1991}, zh-school = {某大学}, zh-type = {毕业论文}}")
    assert bib_mod.reference(bib, "t1991", "zh").endswith("。毕业论文，某大学。")
    assert bib_mod.reference(bib, "t1991", "en").endswith(". Diploma thesis, TU.")


def test_a_chinese_page_may_write_its_locators_and_separators_full_width():
    md, problems = run("[@doe2020，第 3 章；@zed2001]\n<!-- references -->\n", "zh")
    assert problems == []
    assert "（[Doe 和 Roe，2020，第 3 章](#ref-doe2020)；[泽德，2001](#ref-zed2001)）" in md


def test_an_author_list_cut_short_with_and_others_ends_in_et_al():
    bib = bib_mod.parse("@misc{many2025, author = {One, Ann and Two, Ben and others}, title = {T}, year = {2025}}")
    en, _ = run("[@many2025]\n<!-- references -->\n", bib=bib)
    zh, _ = run("[@many2025]\n<!-- references -->\n", "zh", bib=bib)
    assert "A. One, B. Two, et al. (2025). T." in en and "[One et al., 2025]" in en
    assert "A. One, B. Two, 等（2025）。T。" in zh and "[One 等人，2025]" in zh


def test_a_narrative_citation_may_open_a_chinese_sentence():
    md, problems = run("前一句。@doe2020 证明了它；@zed2001 也是。邮箱 a@doe2020 不是引用。\n<!-- references -->\n", "zh")
    assert problems == []
    assert "前一句。[Doe 和 Roe（2020）](#ref-doe2020)证明了它；[泽德（2001）](#ref-zed2001)也是。" in md
    en, _ = run("As @doe2020 showed.\n<!-- references -->\n")
    assert "As [Doe and Roe (2020)](#ref-doe2020) showed." in en
    assert "a@doe2020" in md
