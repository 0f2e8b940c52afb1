"""Tables whose first column names the rows: that column becomes row headers.

A table printed with an empty first header (``gd.table(rows, ["", "w₁", "w₂"])``, or the same
in Markdown) has a label in the first cell of every row and nothing above the labels. As
Python-Markdown writes it, the labels are data cells and the corner an empty column header:
the label column then has no header at all, which assistive technology reports as data without
a header (axe-core's ``td-has-header``, impact critical). Here the labels become row headers
(``<th scope="row">``) and the corner an empty data cell: every number is announced with its
row's label and its column's header. ``book.css`` keeps the row headers looking as before.

    >>> print(row_headers('<table>\\n<thead>\\n<tr>\\n<th></th>\\n<th>x</th>\\n</tr>\\n</thead>\\n'
    ...                   '<tbody>\\n<tr>\\n<td>a</td>\\n<td>1</td>\\n</tr>\\n</tbody>\\n</table>'))
    <table>
    <thead>
    <tr>
    <td></td>
    <th>x</th>
    </tr>
    </thead>
    <tbody>
    <tr>
    <th scope="row">a</th>
    <td>1</td>
    </tr>
    </tbody>
    </table>
"""

from __future__ import annotations

import re

_TABLE = re.compile(r"<table>\s*<thead>\s*<tr>\s*<th(?:\s[^>]*)?>\s*</th>.*?</table>", re.S)
_CORNER = re.compile(r"(<thead>\s*<tr>\s*)<th((?:\s[^>]*)?)>\s*</th>")
_FIRST_CELL = re.compile(r"(<tr>\s*)<td((?:\s[^>]*)?)>(.*?)</td>", re.S)


def _table(m: re.Match) -> str:
    table = _CORNER.sub(r"\1<td\2></td>", m.group(0), count=1)
    head, sep, body = table.partition("<tbody>")
    if not sep:
        return m.group(0)
    return head + sep + _FIRST_CELL.sub(r'\1<th scope="row"\2>\3</th>', body)


def row_headers(html: str) -> str:
    """``html`` with the tables that have an empty first column header given row headers."""
    return _TABLE.sub(_table, html)
