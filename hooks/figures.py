"""Figures as files: each page's SVG figures leave the page's HTML for same-site files.

``gd.svg`` gives a ``<figure>`` with an inline SVG (self-contained: a lab run by a reader shows
it as is). On the site, thousands of ``<path>`` elements per page made the DOM large and the
first paint slow, so the build writes each figure's SVG to ``assets/figures/<digest>.svg`` and
puts an ``<img>`` in its place: with its alt text, its width and height (no layout shift), and
``loading="lazy"`` for every figure after the page's first. The files are named by their
content, so two builds write the same bytes and a figure shared by both languages is one file.

A file is also made smaller than the inline SVG (``minify``): about 30 % over the book's
figures, with no visible change. Alone in its file, a figure needs no page-unique ids, so the
ids that are referenced become short names and the others (matplotlib names every artist) go;
coordinates in path data, positions and translations are rounded to 0.01 pt (a 75th of a pixel
at the figure's natural size; scale factors are kept exact); path data and styles lose their
line breaks and spaces.

Only the figures as ``gd.svg`` wrote them are moved. A lab page keeps its few figures inline:
nbconvert re-serialises a notebook's HTML output (attributes sorted and lower-cased, ``viewbox``),
which an HTML page still draws but a standalone SVG file would not.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

# gd.svg's element: <svg role="img" aria-label="…" class="gd-svg" … style="max-width:Wpt" viewBox="0 0 W H" …>
FIGURE_SVG = re.compile(r'<svg role="img" aria-label="(?P<label>[^"]*)" class="gd-svg" (?P<attrs>[^>]*)>(?P<body>.*?)</svg>', re.S)
_VIEWBOX = re.compile(r'viewBox="0 0 ([\d.]+) ([\d.]+)"')
_STYLE = re.compile(r'\s*style="max-width:[^"]*"')
PX_PER_PT = 4 / 3

_REF = re.compile(r'(?:xlink:href="#|href="#|url\(#)([^")]+)')
_ID = re.compile(r' id="([^"]+)"')
_DECIMALS = re.compile(r"(?<![\w#.])-?\d+\.\d{3,}")
_ROUNDED = re.compile(r'(?<= )(?:d|x|y)="[^"]*"|translate\([^)]*\)')


def _name(n: int) -> str:
    """0 -> "a", 25 -> "z", 26 -> "ba", …: the n-th short id."""
    s = ""
    while True:
        s, n = "abcdefghijklmnopqrstuvwxyz"[n % 26] + s, n // 26
        if n == 0:
            return s


def _round(m: re.Match) -> str:
    t = f"{float(m.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if t in ("-0", "") else t


def minify(svg: str) -> str:
    """A standalone SVG file's text, smaller and drawn the same (see the module's docstring)."""
    names = {i: _name(n) for n, i in enumerate(sorted(set(_REF.findall(svg))))}
    svg = _ID.sub(lambda m: f' id="{names[m.group(1)]}"' if m.group(1) in names else "", svg)
    svg = _REF.sub(lambda m: m.group(0)[: -len(m.group(1))] + names[m.group(1)], svg)
    svg = re.sub(r'(?<= )d="([^"]*)"', lambda m: 'd="' + " ".join(m.group(1).split()) + '"', svg)
    svg = re.sub(r'style="([^"]*)"', lambda m: 'style="' + re.sub(r"([:;])\s+", r"\1", m.group(1)).strip() + '"', svg)
    return _ROUNDED.sub(lambda m: _DECIMALS.sub(_round, m.group(0)), svg)


def extract(html: str, site_dir: Path, prefix: str) -> str:
    """Write each figure of ``html`` to ``site_dir/assets/figures`` and link it from the page.

    ``prefix`` is the page's way back to the site root (``"../"`` per level of its URL).
    """
    out_dir = Path(site_dir) / "assets" / "figures"
    count = 0

    def put(m: re.Match) -> str:
        nonlocal count
        attrs = m.group("attrs")
        box = _VIEWBOX.search(attrs)
        if box is None:
            return m.group(0)
        w, h = (float(v) for v in box.groups())
        attrs = _STYLE.sub("", attrs)
        svg = minify(f'<svg width="{box.group(1)}pt" height="{box.group(2)}pt" {attrs}>{m.group("body")}</svg>') + "\n"
        data = svg.encode("utf-8")
        name = hashlib.sha256(data).hexdigest()[:16] + ".svg"
        target = out_dir / name
        if not target.exists():
            out_dir.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        count += 1
        lazy = ' loading="lazy"' if count > 1 else ""
        return (f'<img class="gd-svg" src="{prefix}assets/figures/{name}" alt="{m.group("label")}" '
                f'width="{round(w * PX_PER_PT)}" height="{round(h * PX_PER_PT)}" decoding="async"{lazy}>')

    return FIGURE_SVG.sub(put, html)

