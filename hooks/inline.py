"""Inline values in prose: Quarto's `` `{python} expr` ``, evaluated at build.

A page's prose may state a result through an inline expression::

    Gradient descent needed `{python} gd.report.num(steps)` steps.

The expression is evaluated in the page's execution session right after the executed block
above it (so it sees the variables of that block and the ones before it), and its ``str()`` is
inserted as Markdown text in place of the code span. Readers see only the value: the syntax
reaches neither the HTML, nor the search index.

How (three steps, one module):

1. ``scan`` (from ``on_page_markdown``): every inline expression outside fenced code is replaced
   by a token (letters and digits, which Markdown leaves alone) and recorded with the number of
   executed blocks above it. An expression in a heading, or above the page's first executed
   block, is an error.
2. The hook's block runner (``Blocks`` in ``hooks/execution.py``) evaluates the expressions that
   follow a block as soon as that block has run (``evaluate``).
3. ``substitute`` (from ``on_page_content``) puts each value, rendered as inline Markdown, in
   place of its token (as plain text inside an HTML attribute such as alt text). A value that
   could not be computed is reported as a warning naming ``<lang>/<slug>``, the line and the
   expression, which fails the strict build.

``tools/run_page.py`` uses ``scan`` and ``evaluate`` too, so the fast loop checks inline values.
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass
from functools import lru_cache

INLINE = re.compile(r"`\{python\}[ \t]+([^`\n]+?)[ \t]*`")
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")
_EXEC = re.compile(r'\bexec="(?:1|on|true|yes)"')
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]")
TOKEN = re.compile(r"gdinline(\d{4})q")


class InlineError(ValueError):
    """An inline expression where none may stand (a heading, above the first executed block)."""


@dataclass(frozen=True)
class Inline:
    """One inline expression of a page."""

    token: str
    expr: str
    after: int  # the number of executed Python blocks above it (it runs after block `after`)
    line: int   # 1-based line in the page's source


def _token(i: int) -> str:
    return f"gdinline{i:04d}q"


def scan(markdown: str, where: str = "page") -> tuple[str, list[Inline]]:
    """Replace every inline expression outside fenced code by a token; return the new Markdown
    and the expressions in page order.

    Examples:
        >>> text, items = scan("```python exec=\\"on\\"\\nx = 2\\n```\\nx is `{python} x`.")
        >>> text.splitlines()[-1], items[0].expr, items[0].after
        ('x is gdinline0000q.', 'x', 1)
    """
    out, items = [], []
    blocks, fence = 0, None
    for n, line in enumerate(markdown.split("\n"), start=1):
        if fence is not None:
            if re.match(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", line):
                fence = None
            out.append(line)
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group("ticks")
            info = m.group("info")
            if re.match(r"(?:python|py)\b", info) and _EXEC.search(info):
                blocks += 1
            out.append(line)
            continue

        def replace(m: re.Match) -> str:
            expr = m.group(1)
            if _HEADING.match(line):
                raise InlineError(f"{where}, line {n}: inline value `{expr}` in a heading (not allowed)")
            if blocks == 0:
                raise InlineError(f"{where}, line {n}: inline value `{expr}` above the page's first executed block")
            items.append(Inline(_token(len(items)), expr, blocks, n))
            return items[-1].token

        out.append(INLINE.sub(replace, line))
    return "\n".join(out), items


def expressions(markdown: str) -> list[str]:
    """The page's inline expressions, in order (what the parity test compares between twins)."""
    return [m.group(1) for line in _prose_lines(markdown) for m in INLINE.finditer(line)]


def _prose_lines(markdown: str):
    fence = None
    for line in markdown.split("\n"):
        if fence is not None:
            if re.match(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", line):
                fence = None
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group("ticks")
            continue
        yield line


def evaluate(expr: str, namespace: dict, where: str = "inline") -> str:
    """The text an inline expression puts on the page: ``str()`` of its value."""
    return str(eval(compile(expr, where, "eval"), namespace))  # noqa: S307 (the book's own code)


@lru_cache(maxsize=4096)
def render(value: str) -> str:
    """A value's Markdown as inline HTML (math in ``\\( \\)`` as the page's arithmatex renders it).

    Examples:
        >>> render("**3** × 10⁻⁸")
        '<strong>3</strong> × 10⁻⁸'
    """
    import markdown

    md = markdown.Markdown(extensions=["pymdownx.arithmatex"], extension_configs={"pymdownx.arithmatex": {"generic": True}})
    out = md.convert(value)
    if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1:
        out = out[3:-4]
    return out


def substitute(html: str, values: dict[str, str]) -> str:
    """Put each token's value in the page's HTML (plain text inside a tag's attributes)."""

    def put(m: re.Match) -> str:
        value = values[m.group(0)]
        start = m.start()
        in_tag = html.rfind("<", 0, start) > html.rfind(">", 0, start)
        if in_tag:
            text = _html.unescape(re.sub(r"<[^>]+>", "", render(value)))
            return _html.escape(text, quote=True)
        return render(value)

    return TOKEN.sub(lambda m: put(m) if m.group(0) in values else m.group(0), html)
