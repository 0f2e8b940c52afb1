"""Printing results on a page: Markdown tables and compact numbers.

markdown-exec renders what a block prints as Markdown, so a table printed by
[`table`][gdbook.report.table] appears as a real table on the page; in a Jupyter
notebook, a table is displayed as one too.

Examples:
    >>> print(table([["GD", 0.5, 20], ["Adam", 1e-9, 7]], ["method", "loss", "steps"]))
    | method | loss | steps |
    |---|---:|---:|
    | GD | 0.5 | 20 |
    | Adam | 1e-09 | 7 |
"""

from __future__ import annotations

import ast
import inspect
import math
import numbers
import textwrap
from typing import Sequence

__all__ = ["fmt", "table", "source", "MarkdownText"]


class MarkdownText(str):
    """Markdown source: a ``str`` (print it on a page) that Jupyter renders as Markdown."""

    def _repr_markdown_(self) -> str:
        return str(self)


def fmt(value, digits: int = 4) -> str:
    """Format a number compactly: ``digits`` significant digits, ``inf``/``nan`` spelled out.

    Examples:
        >>> fmt((1.0, 2.5)), fmt([[1, 2], [3, 4]])
        ('(1, 2.5)', '((1, 2), (3, 4))')
        >>> fmt(3.14159265), fmt(1234567.0), fmt(-2.5e-12), fmt(float("nan")), fmt(7)
        ('3.142', '1.235e+06', '-2.5e-12', 'nan', '7')
    """
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.{digits}g}"
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        if isinstance(items, (list, tuple)):
            return "(" + ", ".join(fmt(v, digits) for v in items) + ")"
        return fmt(items, digits)
    return str(value)


def table(rows: Sequence[Sequence], headers: Sequence[str], digits: int = 4) -> MarkdownText:
    """A Markdown table; numeric columns are right-aligned and formatted by [`fmt`][gdbook.report.fmt].

    A ``|`` inside a cell or a header is escaped, so it cannot split the cell.

    Examples:
        >>> print(table([["a", 1]], ["name", "max |x|"]))
        | name | max \\|x\\| |
        |---|---:|
        | a | 1 |
    """
    if any(len(r) != len(headers) for r in rows):
        raise ValueError(f"every row must have {len(headers)} cells (one per header)")
    cells = [[fmt(v, digits).replace("|", "\\|") for v in r] for r in rows]
    headers = [h.replace("|", "\\|") for h in headers]
    numeric = [
        all(isinstance(r[j], numbers.Real) and not isinstance(r[j], bool) for r in rows) if rows else False
        for j in range(len(headers))
    ]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    out += ["| " + " | ".join(c) + " |" for c in cells]
    return MarkdownText("\n".join(out))


def source(obj, *, docstring: bool = True) -> MarkdownText:
    """The source code of a function or class as a Markdown ``python`` code block.

    Pages print it to show a rule exactly as the library runs it, so the book keeps
    one copy of each algorithm. ``docstring=False`` leaves out the docstring (the
    page states the formula in its prose).

    Examples:
        >>> from gdbook.optim.rules import debias
        >>> source(debias, docstring=False).splitlines()[1:]
        ['def debias(avg, decay: float, t: int):', '    return avg / (1 - decay**t)', '```']
    """
    text = textwrap.dedent(inspect.getsource(obj))
    body = ast.parse(text).body[0].body
    if not docstring and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0].value, "value", None), str):
        lines = text.splitlines(keepends=True)
        text = "".join(lines[: body[0].lineno - 1] + lines[body[0].end_lineno:])
    return MarkdownText(f"```python\n{text.rstrip()}\n```")
