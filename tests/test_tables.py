"""hooks/tables.py: a table's label column becomes row headers when its first header is empty."""

from __future__ import annotations

import importlib.util
import re

import markdown

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("gdbook_hooks_tables", ROOT / "hooks" / "tables.py")
tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tables)


def html(md: str) -> str:
    return markdown.markdown(md, extensions=["tables"])


def test_label_column_becomes_row_headers():
    out = tables.row_headers(html("| | w₁ | loss |\n|---|---:|---:|\n| true | 2 | 0.5 |\n| fit | 1.9 | 0.4 |"))
    assert re.findall(r'<th scope="row">(.*?)</th>', out) == ["true", "fit"]
    assert re.findall(r"<th[^>]*>(.*?)</th>", out.split("<tbody>")[0]) == ["w₁", "loss"]
    assert re.search(r"<thead>\s*<tr>\s*<td></td>", out)  # the corner: an empty data cell
    assert re.findall(r"<td[^>]*>(.*?)</td>", out.split("<tbody>")[1]) == ["2", "0.5", "1.9", "0.4"]


def test_alignment_kept_and_other_tables_untouched():
    aligned = tables.row_headers(html("| | x |\n|:---:|---|\n| a | 1 |"))
    assert '<th scope="row" style="text-align: center;">a</th>' in aligned
    named = html("| name | x |\n|---|---|\n| a | 1 |")
    assert tables.row_headers(named) == named
    both = tables.row_headers(named + "\n" + html("| | x |\n|---|---|\n| b | 2 |"))
    assert both.count('<th scope="row">') == 1 and '<td>a</td>' in both
