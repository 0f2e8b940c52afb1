"""Math typeset at build: the vendored Temml, run in Python's embedded V8 on the build machine.

Readers' browsers used to typeset 150–280 formulas per page with KaTeX's script after the page
had loaded (raw ``\\(…\\)`` until then); the build then typeset them with KaTeX, whose output
(nested ``<span>`` for the eye, MathML beside it for screen readers) was 11 of the site's 25 MB
of HTML and most of a chapter's DOM elements. Now the build writes MathML alone, with Temml
(``hooks/temml/temml.min.js``: KaTeX's parser and TeX coverage, MathML Core output), which every
current browser lays out itself: a page arrives typeset, needs no script for math, and the same
markup serves the eye and the screen reader. The glyphs come from Latin Modern Math, which the
site serves itself: each page with math gets the subset of it that its formulas draw, asked for
early (``hooks/mathfont.py``). Temml's output is deterministic, so two builds stay
byte-identical.

* Markdown pages: ``pymdownx.arithmatex`` (generic) wraps math in ``<span class="arithmatex">``
  / ``<div class="arithmatex">`` holding ``\\(…\\)`` / ``\\[…\\]``; the TeX inside is typeset in
  place, the wrapper kept.
* Lab pages: nbconvert keeps a Markdown cell's TeX with its delimiters (``$…$``, ``$$…$$``,
  ``\\(…\\)``, ``\\[…\\]``) in the text of ``.jp-MarkdownOutput``; it is found there, outside
  tags and code.

A formula Temml cannot parse is left as it was and reported (``errors``) with the page and the
TeX; the hook logs it as a warning, so the strict build fails.
One V8 context serves a whole build: a page's formulas go to it in one call.
"""

from __future__ import annotations

import atexit
import html as _html
import json
import re
from pathlib import Path

_SCRIPT = """
function gdTypeset(items) {
  return JSON.stringify(JSON.parse(items).map(function (item) {
    try {
      return [temml.renderToString(item[0], {displayMode: item[1], throwOnError: true}), null];
    } catch (e) {
      return [null, String(e.message || e)];
    }
  }));
}
"""

ARITHMATEX = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)
_DELIMITED = re.compile(r"^\\\((.*)\\\)$|^\\\[(.*)\\\]$", re.S)
_NOTEBOOK_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\\$\w])\$(?!\s)([^$]+?)(?<!\s)\$(?!\w)", re.S)
_NOTEBOOK_PROSE = re.compile(r'<div class="[^"]*\bjp-MarkdownOutput\b[^"]*"[^>]*>|<figcaption>')


class Temml:
    """Temml (a given ``temml.min.js``) in an embedded V8 (``mini-racer``, from PyPI: no node).

    Each formula is typeset once per build: both languages share their math, and a page
    repeats its symbols.
    """

    def __init__(self, script: Path):
        self.script = Path(script)
        self._ctx = None
        self._done: dict[tuple[str, bool], tuple[str | None, str | None]] = {}

    def render(self, items: list[tuple[str, bool]]) -> list[tuple[str | None, str | None]]:
        """``(mathml, error)`` for each ``(tex, display)``."""
        todo = list(dict.fromkeys(i for i in items if i not in self._done))
        if todo:
            if self._ctx is None:
                from py_mini_racer import MiniRacer

                self._ctx = MiniRacer()
                atexit.register(self._ctx.close)  # closed by the garbage collector at exit, V8 hangs
                self._ctx.eval(self.script.read_text(encoding="utf-8"))
                self._ctx.eval(_SCRIPT)
            for item, result in zip(todo, json.loads(self._ctx.call("gdTypeset", json.dumps(todo)))):
                self._done[item] = tuple(result)
        return [self._done[i] for i in items]


def _typeset(temml: Temml, found: list[tuple[str, bool]], where: str, errors: list) -> list[str | None]:
    """The MathML of each formula, None where Temml failed (the failure appended to ``errors``)."""
    out = []
    for (tex, _), (html, error) in zip(found, temml.render(found)):
        if error is not None:
            errors.append(f"{where}: Temml cannot typeset {tex!r}: {error}")
        out.append(html)
    return out


def page(html: str, temml: Temml, where: str, errors: list) -> str:
    """A Markdown page's HTML with its arithmatex math typeset."""
    items = []
    for m in ARITHMATEX.finditer(html):
        d = _DELIMITED.match(_html.unescape(m.group(2)).strip())
        if d is not None:
            items.append((m, d.group(1) if d.group(1) is not None else d.group(2), d.group(2) is not None))
    if not items:
        return html
    out, pos = [], 0
    for (m, _, _), rendered in zip(items, _typeset(temml, [(tex, display) for _, tex, display in items], where, errors)):
        out += [html[pos:m.start()], m.group(0) if rendered is None else f'<{m.group(1)} class="arithmatex">{rendered}</{m.group(1)}>']
        pos = m.end()
    return "".join(out) + html[pos:]


def notebook(html: str, temml: Temml, where: str, errors: list) -> str:
    """A lab page's HTML with the TeX of its Markdown cells, and of its figures' captions
    (written in Markdown cells, hooks/figcaptions.py), typeset."""
    pieces, found = [], []
    pos = 0
    for start in _NOTEBOOK_PROSE.finditer(html):
        if start.start() < pos:
            continue
        end = _closing_div(html, start.end()) if start.group(0).startswith("<div") else html.index("</figcaption>", start.end())
        pieces.append(html[pos:start.end()])
        pieces.append(_NotebookCell(html[start.end():end]))
        pos = end
    pieces.append(html[pos:])
    for p in pieces:
        if isinstance(p, _NotebookCell):
            found += p.scan()
    rendered = iter(_typeset(temml, found, where, errors))
    return "".join(p.fill(rendered) if isinstance(p, _NotebookCell) else p for p in pieces)


class _NotebookCell:
    """A Markdown cell's HTML, split into tags, code and text; math is found in the text."""

    def __init__(self, html: str):
        self.parts = re.split(r"(<pre\b.*?</pre>|<code\b.*?</code>|<[^>]+>)", html, flags=re.S)

    def scan(self) -> list[tuple[str, bool]]:
        found = []
        for i, part in enumerate(self.parts):
            if i % 2 == 0:
                for m in _NOTEBOOK_MATH.finditer(part):
                    display = m.group(1) is not None or m.group(2) is not None
                    tex = next(g for g in m.groups() if g is not None)
                    found.append((_html.unescape(tex), display))
        return found

    def fill(self, rendered) -> str:
        out = []
        for i, part in enumerate(self.parts):
            if i % 2 == 0:
                part = _NOTEBOOK_MATH.sub(lambda m: _wrap(next(rendered), m), part)
            out.append(part)
        return "".join(out)


def _wrap(rendered: str | None, m: re.Match) -> str:
    if rendered is None:
        return m.group(0)
    display = m.group(1) is not None or m.group(2) is not None
    return f'<div class="arithmatex">{rendered}</div>' if display else f'<span class="arithmatex">{rendered}</span>'


def _closing_div(html: str, pos: int) -> int:
    """The index of the ``</div>`` that closes the ``<div>`` whose content starts at ``pos``."""
    depth = 1
    for m in re.compile(r"<div\b|</div>").finditer(html, pos):
        depth += 1 if m.group(0) == "<div" else -1
        if depth == 0:
            return m.start()
    return len(html)
