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

__all__ = ["fmt", "num", "pct", "table", "source", "MarkdownText"]


class MarkdownText(str):
    """Markdown source: a ``str`` (print it on a page) that Jupyter renders as Markdown."""

    def _repr_markdown_(self) -> str:
        return str(self)


def fmt(value, digits: int = 4) -> str:
    """Format a number compactly: ``digits`` significant digits, ``inf``/``nan`` spelled out.

    Integers keep every digit; a sequence or an array becomes a parenthesized list of
    formatted entries; anything else is ``str(value)``.

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


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_MINUS = "\u2212"


def num(value, digits: int = 3, *, sci: bool | None = None) -> str:
    """A number for a sentence of prose (an inline value): what a careful author would type.

    Integers keep every digit, with thousands separators. Other numbers get ``digits``
    significant digits (trailing zeros dropped); below 10⁻³ or from 10⁶ on (or whenever
    ``sci=True``) in scientific notation with a true times sign and a superscript exponent.
    Negative numbers take a true minus sign. The text is the same in both languages.

    Examples:
        >>> num(1050000), num(2.0), num(0.071234), num(-0.0712, 1), num(3.2e-08, 2)
        ('1,050,000', '2', '0.0712', '−0.07', '3.2 × 10⁻⁸')
        >>> num(11.66, 3), num(1234.5678), num(2.5e6), num(float("inf")), num(0.0)
        ('11.7', '1,230', '2.5 × 10⁶', '∞', '0')
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"num: value must be a real number, got {type(value).__name__}")
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or digits < 1:
        raise ValueError(f"num: digits must be an integer ≥ 1, got {digits!r}")
    if isinstance(value, numbers.Integral) and not sci:
        text = f"{int(value):,}"
        return text.replace("-", _MINUS)
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return ("" if v > 0 else _MINUS) + "∞"
    if v == 0:
        return "0"
    sign = _MINUS if v < 0 else ""
    mantissa, exponent = f"{abs(v):.{digits - 1}e}".split("e")
    exponent = int(exponent)
    if sci is None:
        sci = exponent < -3 or exponent >= 6
    if sci:
        m = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{sign}{m} × 10{str(exponent).translate(_SUPERSCRIPT)}"
    rounded = float(f"{abs(v):.{digits - 1}e}")
    decimals = max(digits - 1 - exponent, 0)
    text = f"{rounded:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return sign + text


def pct(value, digits: int = 2) -> str:
    """A fraction as a percentage for prose, ``digits`` significant digits.

    Examples:
        >>> pct(0.0731), pct(1.0), pct(0.5, 1)
        ('7.3%', '100%', '50%')
    """
    return num(100 * float(value), digits, sci=False) + "%"


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
