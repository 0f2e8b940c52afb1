"""The math font each page needs, and nothing more: a subset of Latin Modern Math per page.

The browser lays out the pages' MathML (``hooks/typeset.py``) with Latin Modern Math. The
book's subset of it (``hooks/temml/latinmodernmath.woff2``, ``tools/make_math_font.py``) is
171 KB (698 characters, 1,859 glyphs), and a phone on a slow network waits for it before the
text around the formulas settles: on Lighthouse's simulated phone it was the largest request of
every page with math, most of the second between the first paint and the largest. A page's
formulas draw 30–160 characters (counting the italic forms below).

So each page with math gets a subset of that font with the characters its formulas draw
(``drawn``: the text of every ``<math>``, the italic form of every letter, which the
browser draws for a one-letter ``<mi>``, and the radical sign of a square root), and every
glyph the font's MATH table and its ``ssty`` and ``dtls`` features reach from them (larger
sizes and the pieces of stretchy delimiters and radicals, script-size forms, dotless i and j):
12–52 KB as WOFF2. The file is named by its content
(``assets/temml/fonts/<sha256[:16]>.woff2``), so pages whose formulas draw the same characters
share one file, and each file is cut and written once per build (``MathFonts``).

The page declares the font in its ``<head>``: a ``<style>`` with the ``@font-face`` rule (the
URL relative to the page, as the stylesheets' are), and a ``preload`` link before it, so the
request starts beside the stylesheets' instead of when the first formula is laid out. Material's
instant navigation swaps the ``<head>`` children that differ, so a page reached that way gets
its own font too. A page without math declares none.

Deterministic: the subset's bytes depend only on the characters (the font's timestamps are
zeroed), so two builds write the same files.
"""

from __future__ import annotations

import hashlib
import html as _html
import io
import re
from pathlib import Path

from fontTools import subset

SOURCE = Path(__file__).resolve().parent / "temml" / "latinmodernmath.woff2"
FAMILY = "Latin Modern Math"
FEATURES = ["ssty", "dtls"]  # as tools/make_math_font.py keeps them

_MATH = re.compile(r"<math\b.*?</math>", re.S)
_TAG = re.compile(r"<[^>]+>")
_RADICAL = re.compile(r"<m(?:sqrt|root)\b")
_MATH_CSS = re.compile(r'<link rel="stylesheet" href="([^"]*)assets/temml/Temml-Latin-Modern\.css">')


def italic(ch: str) -> str:
    """The Mathematical Italic form of a Latin or Greek letter (MathML Core's italic mapping for a
    one-letter ``<mi>``), or ``ch`` itself."""
    o = ord(ch)
    if ch == "h":
        return "\u210e"  # Planck constant: the italic h that the Unicode block leaves out
    if 0x41 <= o <= 0x5A or 0x61 <= o <= 0x7A:
        return chr(0x1D434 + o - 0x41 if o <= 0x5A else 0x1D44E + o - 0x61)
    if 0x391 <= o <= 0x3A9 and o != 0x3A2:
        return chr(0x1D6E2 + o - 0x391)
    if 0x3B1 <= o <= 0x3C9:
        return chr(0x1D6FC + o - 0x3B1)
    return {"ı": "\U0001d6a4", "ȷ": "\U0001d6a5", "∇": "\U0001d6fb", "∂": "\U0001d715", "ϵ": "\U0001d716",
            "ϑ": "\U0001d717", "ϰ": "\U0001d718", "ϕ": "\U0001d719", "ϱ": "\U0001d71a", "ϖ": "\U0001d71b"}.get(ch, ch)


def drawn(html: str) -> set[str]:
    """The characters the page's formulas may draw: their text, the italic form of each of its
    letters, the radical sign (which ``<msqrt>`` and ``<mroot>`` draw without writing it), and
    the space."""
    formulas = _MATH.findall(html)
    text = "".join(_html.unescape(_TAG.sub("", m)) for m in formulas)
    radical = {"\u221a"} if any(_RADICAL.search(m) for m in formulas) else set()
    return {" ", *text, *map(italic, text), *radical} if formulas else set()


def subset_font(chars: set[str], source: Path = SOURCE) -> bytes:
    """WOFF2 bytes of ``source`` cut down to ``chars`` (those it has) and the glyphs they reach."""
    options = subset.Options()
    options.layout_features = FEATURES
    options.flavor = "woff2"
    options.name_IDs = ["*"]  # the copyright and license names stay with the font
    font = subset.load_font(str(source), options)
    sub = subset.Subsetter(options)
    sub.populate(unicodes=sorted(map(ord, chars)))
    sub.subset(font)
    font["head"].created = font["head"].modified = 0
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()


class MathFonts:
    """A build's per-page math fonts, written under ``site_dir/assets/temml/fonts``; each set of
    characters is cut once (the other pages that draw it, and ``mkdocs serve``'s rebuilds, reuse
    it)."""

    def __init__(self, source: Path = SOURCE):
        self.source = source
        self._cuts: dict[frozenset, tuple[str, bytes]] = {}

    def _cut(self, chars: set[str]) -> tuple[str, bytes]:
        """The file name and WOFF2 bytes of the subset for ``chars``, cut at the first call."""
        key = frozenset(chars)
        if key not in self._cuts:
            data = subset_font(chars, self.source)
            self._cuts[key] = (hashlib.sha256(data).hexdigest()[:16] + ".woff2", data)
        return self._cuts[key]

    def page(self, html: str, site_dir: Path) -> str:
        """``html`` with its math font declared and preloaded, the file written; unchanged
        without math (or without Temml's stylesheet, whose base path the links take)."""
        chars = drawn(html)
        css = _MATH_CSS.search(html)
        if not chars or css is None:
            return html
        name, data = self._cut(chars)
        target = Path(site_dir) / "assets" / "temml" / "fonts" / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        url = f"{css.group(1)}assets/temml/fonts/{name}"
        head = (f'<link rel="preload" href="{url}" as="font" type="font/woff2" crossorigin>\n'
                f'<style>@font-face{{font-family:"{FAMILY}";src:url("{url}") format("woff2");'
                f"font-display:swap}}</style>\n")
        return html[:css.start()] + head + html[css.start():]
