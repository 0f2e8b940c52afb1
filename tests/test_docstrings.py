"""The API reference as written: every docstring of gdbook (every module, including the
attribute docstrings mkdocstrings shows) is free of control characters, every public module is
on one API page (docs/api/, both languages, the overview and the nav list it), and the built API
pages (both languages) have every formula typeset.

A control character in a docstring is almost always a LaTeX command eaten by a non-raw
string: ``"\\tfrac"`` holds a TAB, ``"\\frac"`` a form feed, ``"\\beta"`` a backspace.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path

import pytest

from conftest import GENERATED, LANGS, page_file

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gdbook"


def docstrings(path: Path):
    """``(line, text)`` of every string literal that stands alone as a statement: the
    docstrings of the module, its classes and functions, and attribute docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            yield node.lineno, node.value.value


def control_characters(text: str) -> list[str]:
    return sorted({repr(c) for c in text if unicodedata.category(c) == "Cc" and c != "\n"})


def test_walks_every_module():
    files = sorted(PACKAGE.rglob("*.py"))
    assert {"cache.py", "nets.py", "rules.py", "optimizers.py", "trajectory.py"} <= {f.name for f in files}
    assert sum(1 for f in files for _ in docstrings(f)) > 100


def test_a_non_raw_latex_docstring_is_caught():
    assert control_characters("\\(\tfrac12 x^\top A x\\)") == ["'\\t'"]
    assert control_characters(r"\(\tfrac12 x^\top A x\)") == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_control_characters_in_docstrings(path):
    bad = [(line, control_characters(text)) for line, text in docstrings(path) if control_characters(text)]
    assert not bad, f"{path.name}: docstrings with control characters (make them raw strings): {bad}"


# ---------------------------------------------------------------------------
# The built API pages: every formula typeset (MathML at build, hooks/typeset.py)
# ---------------------------------------------------------------------------


@pytest.mark.build
@pytest.mark.parametrize("lang", LANGS)
def test_api_formulas_are_typeset_without_errors(site, lang):
    """The build typesets every formula and fails on a Temml error; here: none is left raw, on
    any of the API reference's pages (one per module or small group of modules)."""
    from bs4 import BeautifulSoup

    total, problems = 0, []
    for slug in sorted(GENERATED):
        page = page_file(site, slug, lang)
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        math = soup.select(".arithmatex")
        total += len(math)
        raw = [el.get_text()[:60] for el in math if el.select_one("math") is None]
        if raw:
            problems.append(f"{lang}/{slug}: {len(raw)} formulas not typeset, e.g. {raw[:3]}")
        if soup.select("merror"):
            problems.append(f"{lang}/{slug}: {len(soup.select('merror'))} Temml errors")
    assert total > 500, f"{lang}: only {total} formulas found on the API pages"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_docstrings_with_latex_are_raw_strings(path):
    """A non-raw docstring holding LaTeX works only while none of its commands starts with an
    escape letter; the next ``\\frac`` or ``\\beta`` would break it silently."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            text = ast.get_source_segment(source, node.value)
            if re.search(r"\\[(\[]", node.value.value) and not text.lstrip().lower().startswith(("r", "br", "rb")):
                bad.append(node.lineno)
    assert not bad, f"{path.name}: docstrings with LaTeX that are not raw strings, lines {bad}"


# ---------------------------------------------------------------------------
# The API reference's pages: every public module on one page, listed in the overview and the nav
# ---------------------------------------------------------------------------


def test_the_api_reference_renders_every_public_module_once_in_both_languages():
    """docs/api/<name>.md renders one module or a few small ones (``::: gdbook.<module>``); its
    Chinese twin renders the same; every public module of gdbook is on exactly one page, which
    the overview (both languages) links it to, and every page is in the nav."""
    import yaml

    docs = ROOT / "docs" / "api"
    directive = re.compile(r"^::: (gdbook\.\S+)$", re.M)
    rendered: dict[str, str] = {}
    for page in sorted(docs.glob("*.md")):
        if page.name.endswith(".zh.md"):
            continue
        modules = directive.findall(page.read_text(encoding="utf-8"))
        zh = directive.findall(page.with_name(page.stem + ".zh.md").read_text(encoding="utf-8"))
        assert modules == zh, f"{page.name}: {modules} in English, {zh} in Chinese"
        for m in modules:
            assert m not in rendered, f"{m} is rendered on {rendered[m]} and on {page.name}"
            rendered[m] = page.name
    public = {"gdbook." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
              for p in PACKAGE.rglob("*.py") if not any(part.startswith("_") for part in p.relative_to(PACKAGE).parts)}
    assert set(rendered) == public, f"not rendered: {sorted(public - set(rendered))}; unknown: {sorted(set(rendered) - public)}"
    for overview in ("index.md", "index.zh.md"):
        links = dict(re.findall(r"\[`(gdbook\.[\w.]+)`\]\((\w+\.md)#\1\)", (docs / overview).read_text(encoding="utf-8")))
        assert links == rendered, f"{overview}: the table links {links}, the pages render {rendered}"
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace("!ENV", ""))["nav"]
    listed = set(re.findall(r"api/[\w-]+\.md", repr(nav)))
    assert listed == {f"api/{p.name}" for p in docs.glob("*.md") if not p.name.endswith(".zh.md")}, listed
