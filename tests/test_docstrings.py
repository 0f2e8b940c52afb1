"""The API reference as written: every docstring of gdbook (every module, including the
attribute docstrings mkdocstrings shows) is free of control characters, and the built API pages
(both languages) render every formula without a KaTeX error.

A control character in a docstring is almost always a LaTeX command eaten by a non-raw
string: ``"\\tfrac"`` holds a TAB, ``"\\frac"`` a form feed, ``"\\beta"`` a backspace.
"""

from __future__ import annotations

import ast
import re
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

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
# The built API pages: every formula parses (KaTeX, as the browser runs it)
# ---------------------------------------------------------------------------

KATEX = ROOT / "docs" / "assets" / "katex" / "katex.min.js"

# The vendored KaTeX under node, on every formula: throwOnError makes a parse error an exception
# (in the browser, katex-init.js renders it as a red .katex-error element instead).
RENDER = r"""
const katex = require(process.argv[1]);
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
const errors = [];
for (const [where, tex, display] of items) {
  try { katex.renderToString(tex, {displayMode: display, throwOnError: true}); }
  catch (e) { errors.push([where, tex, String(e.message)]); }
}
process.stdout.write(JSON.stringify(errors));
"""


def formulas(html: str, where: str) -> list[tuple[str, str, bool]]:
    """``(where, tex, display)`` of every formula pymdownx.arithmatex marked on a page."""
    from bs4 import BeautifulSoup

    out = []
    for el in BeautifulSoup(html, "html.parser").select(".arithmatex"):
        text = el.get_text().strip()
        for m in re.finditer(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", text, re.S):
            display = m.group(2) is not None
            out.append((where, m.group(2) if display else m.group(1), display))
    return out


def katex_errors(items: list) -> list:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    proc = subprocess.run([node, "-e", RENDER, str(KATEX)], input=json.dumps(items), capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout)


def test_katex_check_finds_a_parse_error():
    html = ('<p><span class="arithmatex">\\(\\tfrac12 x^\\top A x\\)</span> and '
            '<span class="arithmatex">\\(\\frac{1}{2\\)</span></p>'
            '<div class="arithmatex">\\[\\sum_i x_i\\]</div>')
    items = formulas(html, "t")
    assert [display for _, _, display in items] == [False, False, True]
    errors = katex_errors(items)
    assert [tex for _, tex, _ in errors] == ["\\frac{1}{2"]


@pytest.mark.build
@pytest.mark.parametrize("page", ["api/index.html", "zh/api/index.html"])
def test_api_formulas_render_without_katex_errors(site, page):
    items = formulas((site / page).read_text(encoding="utf-8"), page)
    assert len(items) > 100, f"{page}: only {len(items)} formulas found"
    errors = katex_errors(items)
    assert not errors, f"{page}: {len(errors)} KaTeX errors, e.g. {errors[:3]}"


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
