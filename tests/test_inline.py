"""Inline values in prose (`` `{python} expr` ``, hooks/inline.py and the hook's block runner).

Unit tests of the scanner, the runner's evaluation order and its memory under ``serve``, the
formatting helpers, and a real strict MkDocs build of a small book: the values reach the page,
the syntax reaches neither the HTML nor the search index, and a failing expression fails the
build naming page and line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DOCS, slugs, source
from test_serve import HOOK, hook

inline = hook.inline
FENCE = '```python exec="on"\n{code}\n```\n'


def page(*parts: str) -> str:
    return "\n".join(parts)


# ---------------------------------------------------------------------------
# scan
# ---------------------------------------------------------------------------


def test_scan_records_each_expression_with_the_blocks_above_it():
    text = page(FENCE.format(code="a = 1"), "A is `{python} a`.", FENCE.format(code="b = 2"),
                "- item `{python} a + b` and `{python}  b ` here", "plain `code` and `{ python } x`")
    out, items = inline.scan(text)
    assert [(i.expr, i.after) for i in items] == [("a", 1), ("a + b", 2), ("b", 2)]
    assert "{python}" not in out and "plain `code` and `{ python } x`" in out
    assert [i.token for i in items] == sorted({i.token for i in items})  # distinct, in order
    assert all(out.count(i.token) == 1 for i in items)
    assert items[0].line == text.splitlines().index("A is `{python} a`.") + 1


def test_scan_leaves_fenced_code_alone_and_counts_only_executed_python_blocks():
    text = page(FENCE.format(code="x = 1"), "```python\ny = '`{python} x`'\n```",
                "```text\n`{python} x`\n```", "    ```python exec=\"on\"\n    z = 3\n    ```", "`{python} z`")
    out, items = inline.scan(text)
    assert [(i.expr, i.after) for i in items] == [("z", 2)]
    assert out.count("`{python} x`") == 2


@pytest.mark.parametrize("text, why", [
    ("`{python} 1 + 1` before any block\n" + FENCE.format(code="x = 1"), "above the page's first executed block"),
    (FENCE.format(code="x = 1") + "## Heading `{python} x`", "in a heading"),
])
def test_scan_refuses_expressions_where_none_may_stand(text, why):
    with pytest.raises(inline.InlineError, match=why):
        inline.scan(text, "en/page")


def test_expressions_lists_what_the_parity_test_compares():
    text = page(FENCE.format(code="x = 1"), "`{python} x` and `{python} f'{x:.2f}'`", "```\n`{python} no`\n```")
    assert inline.expressions(text) == ["x", "f'{x:.2f}'"]


def test_substitute_renders_markdown_and_keeps_attributes_plain_text():
    html = '<p>A gdinline0000q B</p><img alt="see gdinline0000q" src="x">'
    out = inline.substitute(html, {"gdinline0000q": "**3** < 4"})
    assert out == '<p>A <strong>3</strong> &lt; 4 B</p><img alt="see 3 &lt; 4" src="x">'


# ---------------------------------------------------------------------------
# The block runner: evaluation order, errors, memory under `serve`
# ---------------------------------------------------------------------------


@pytest.fixture
def blocks():
    import markdown_exec._internal.formatters.python as python

    run = getattr(python._run_python, "run", python._run_python)
    return hook.execution.Blocks(run, python._sessions_globals)


def build(blocks, text: str, session: str = "t-inline") -> tuple[list[str], dict]:
    """Build a page as the hook does: scan, run its blocks in order, return outputs and values."""
    from run_page import blocks as page_blocks

    text, items = inline.scan(text)
    blocks.start_page([session], {session: items})
    out = [blocks(code, returncode=0, session=session, id=f"{session}#{n}") for n, _, code in page_blocks(text)]
    return out, {i.expr: blocks.values[session].get(i.token) for i in items}


def test_each_value_sees_the_session_as_it_is_right_after_the_block_above_it(blocks):
    text = page(FENCE.format(code="x = 1"), "`{python} x`", FENCE.format(code="x = 2"), "`{python} x * 10`")
    _, values = build(blocks, text)
    assert values == {"x": "1", "x * 10": "20"}


def test_a_failing_expression_is_reported_not_raised(blocks):
    _, values = build(blocks, page(FENCE.format(code="x = 1"), "`{python} y`", "`{python} x`"))
    assert isinstance(values["y"], hook.execution.Failed) and "NameError" in values["y"]
    assert values["x"] == "1"


def test_a_prose_edit_evaluates_only_the_new_expression_and_runs_no_block(blocks):
    body = FENCE.format(code="import random\nrng = random.Random(1)\nv = rng.random()") + FENCE.format(code="w = 2 * v")
    build(blocks, page(body, "`{python} round(w, 6)`"))
    runs, evals = blocks.runs, blocks.evals
    _, values = build(blocks, page(body, "`{python} round(w, 6)` and `{python} round(v, 6)`"))
    assert blocks.evals - evals == 1, "an unchanged expression was evaluated again"
    assert blocks.runs - runs == 2, "the new expression needs the session: both blocks replayed, once"
    import random

    v = random.Random(1).random()
    assert values == {"round(w, 6)": str(round(2 * v, 6)), "round(v, 6)": str(round(v, 6))}
    runs = blocks.runs
    build(blocks, page(body, "`{python} round(w, 6)` and `{python} round(v, 6)`"))
    assert blocks.runs == runs, "an unchanged page ran a block"


def test_run_page_evaluates_inline_values(tmp_path):
    from run_page import run_page

    good = tmp_path / "good.md"
    good.write_text(page(FENCE.format(code="x = 41"), "`{python} x + 1`"), encoding="utf-8")
    out = tmp_path / "out"
    assert run_page(good, out)[0]
    assert "`x + 1` = 42" in (out / "good.md.txt").read_text()
    bad = tmp_path / "bad.md"
    bad.write_text(page(FENCE.format(code="x = 41"), "`{python} nope`"), encoding="utf-8")
    assert not run_page(bad)[0]


# ---------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------


def test_num_formats_for_prose():
    from gdbook.report import num, pct

    assert num(1_050_000) == "1,050,000" and num(-3) == "−3"
    assert num(0.071234) == "0.0712" and num(11.66) == "11.7" and num(2.0) == "2"
    assert num(3.2e-8, 2) == "3.2 × 10⁻⁸" and num(1.6e-12, 2) == "1.6 × 10⁻¹²"
    assert num(9.996e5, 3) == "1 × 10⁶"  # rounding carries into the exponent
    assert num(0.00123, 2) == "0.0012" and num(0.000123, 2) == "1.2 × 10⁻⁴" and num(0.000123, 2, sci=False) == "0.00012"
    assert num(1234, sci=True) == "1.23 × 10³"
    assert num(float("nan")) == "NaN" and num(float("-inf")) == "−∞"
    assert pct(0.0731) == "7.3%"
    import numpy as np

    assert num(np.float64(0.5)) == "0.5" and num(np.int64(12000)) == "12,000"
    with pytest.raises(TypeError, match="value"):
        num("1")
    with pytest.raises(ValueError, match="digits"):
        num(1.0, 0)


# ---------------------------------------------------------------------------
# The book's pages: twins share their inline expressions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("slug", slugs(include_generated=False))
def test_twins_have_the_same_inline_expressions_in_the_same_order(slug):
    en = inline.expressions(source(slug, "en").read_text(encoding="utf-8"))
    zh = inline.expressions(source(slug, "zh").read_text(encoding="utf-8"))
    assert en == zh, f"{slug}: inline expressions differ between the English and Chinese page"


def test_every_page_scans():
    for p in sorted(DOCS.glob("*.md")):
        inline.scan(p.read_text(encoding="utf-8"), p.name)


# ---------------------------------------------------------------------------
# A real strict build
# ---------------------------------------------------------------------------


def _book(tmp_path: Path, body: str) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\ntheme:\n  name: material\n  font: false\nhooks: ['{HOOK}']\n"
        "markdown_extensions: [tables, admonition, pymdownx.superfences, pymdownx.details, attr_list,"
        " {pymdownx.arithmatex: {generic: true}}]\n"
        "plugins:\n  - search\n  - markdown-exec:\n      languages: [python]\n", encoding="utf-8")
    (docs / "index.md").write_text(body, encoding="utf-8")
    return tmp_path


def _build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", "site"], cwd=root,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.build
def test_a_strict_build_puts_values_in_prose_tables_and_admonitions_and_nothing_else(tmp_path):
    body = page("# Page", "", FENCE.format(code="import gdbook as gd\nsteps = 1050000\nerr = 3.2e-8"),
                "Took `{python} gd.report.num(steps)` steps, error `{python} gd.report.num(err, 2)`.", "",
                "| what | value |", "|---|---|", "| steps | `{python} steps` |", "",
                '!!! note "Note"', "    Error `{python} f'{err:.1e}'`.", "",
                "Ordinary `code` stays.")
    root = _book(tmp_path, body)
    r = _build(root)
    assert r.returncode == 0, r.stderr
    html = (root / "site" / "index.html").read_text(encoding="utf-8")
    assert "Took 1,050,000 steps, error 3.2 × 10⁻⁸." in html
    assert "<td>1050000</td>" in html and "Error 3.2e-08." in html and "<code>code</code>" in html
    assert "{python}" not in html and "gdinline" not in html
    index = (root / "site" / "search" / "search_index.en.json").read_text(encoding="utf-8")
    assert "1,050,000" in json.loads(index)["docs"][0]["text"]
    assert "{python}" not in index and "gdinline" not in index


@pytest.mark.build
def test_a_failing_expression_fails_the_strict_build_naming_page_and_line(tmp_path):
    root = _book(tmp_path, page("# Page", "", FENCE.format(code="x = 1"), "Value `{python} undefined_name`."))
    r = _build(root)
    assert r.returncode != 0
    assert "en/index, line 7: inline value `undefined_name`: NameError" in r.stderr
