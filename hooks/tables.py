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


HOLDS_TABLE = "gd-table"
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# a comment, a script or style with its content, or a tag (quoted attribute values may hold ">")
_TAG = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>|<(/?)([a-zA-Z][\w:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
                  re.S | re.I)
_CLASS = re.compile(r"""\sclass\s*=\s*["']""", re.I)


def mark_holders(html: str) -> str:
    """``html`` with class ``gd-table`` on every element that holds a table.

    ``book.css`` defers the layout of a page's blocks until they near the screen, except blocks
    that hold a table (Material wraps a table in a box that scrolls, and a keyboard can reach
    it only once its width is known); inside a lab's cell that holds one, it defers the parts
    that do not. CSS could tell them apart with ``:has(table)``, which Chromium checks again at
    changes inside the blocks: with it, the labs' long tasks at load were about 15 % longer
    (main thread, CPU slowed four times as on Lighthouse's phone). A class is matched once.

    >>> print(mark_holders('<div class="result"><p>x</p><div><table><tr><td>1</td></tr></table></div></div><p>y</p>'))
    <div class="gd-table result"><p>x</p><div class="gd-table"><table><tr><td>1</td></tr></table></div></div><p>y</p>
    """
    open_: list[tuple[str, int, int]] = []  # the elements open here: name, where the name ends and the tag
    holders: set[tuple[int, int]] = set()
    for m in _TAG.finditer(html):
        name = (m.group(3) or "").lower()
        if not name:
            continue  # a comment, a script or a style
        if m.group(2):  # an end tag closes its element and any left open inside it
            at = next((i for i in range(len(open_) - 1, -1, -1) if open_[i][0] == name), None)
            if at is not None:
                del open_[at:]
            continue
        if name == "table":
            holders.update((pos, end) for _, pos, end in open_)
        if name not in _VOID and not m.group(4).rstrip().endswith("/"):
            open_.append((name, m.start(4), m.end()))
    out, last = [], 0
    for pos, end in sorted(holders):
        cls = _CLASS.search(html, pos, end)
        cut = cls.end() if cls else pos
        out += [html[last:cut], HOLDS_TABLE + " " if cls else f' class="{HOLDS_TABLE}"']
        last = cut
    return "".join(out) + html[last:]
