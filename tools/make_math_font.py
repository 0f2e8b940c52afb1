"""Make the math font the site serves: a subset of Latin Modern Math as WOFF2.

    apt-get download fonts-lmodern && dpkg -x fonts-lmodern_*.deb /tmp/lm
    pip install brotli   # fontTools writes WOFF2 with it; not needed by the build
    .venv/bin/python tools/make_math_font.py /tmp/lm/usr/share/texmf/fonts/opentype/public/lm-math/latinmodern-math.otf

The pages' math is MathML typeset at build (hooks/typeset.py), which the browser lays out with
an OpenType MATH font: Latin Modern Math (GUST Font License, the Computer Modern design of TeX;
Debian's ``fonts-lmodern`` 2.005, or CTAN's ``lm-math``). The whole font is 734 KB; the site
needs the characters its TeX produces, so this keeps Basic Latin, Latin-1, Greek, the
punctuation, letterlike, arrow, operator and delimiter blocks, and of the Mathematical
Alphanumeric Symbols the styles TeX's commands map to (bold, italic, bold italic, script,
double-struck, sans-serif, monospace, Greek italic and bold, bold digits), with every glyph the
MATH table reaches from them (larger sizes and pieces of stretchy delimiters and radicals).
It also writes the characters the subset has, with the font's digest, to
``tests/math-font-chars.txt``: ``tests/test_site.py`` checks that every character of every
formula of the built site is among them (the build has no WOFF2 decoder). Output:
``docs/assets/temml/latinmodernmath.woff2`` (the name Temml's stylesheet loads); deterministic.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from fontTools import subset

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "assets" / "temml" / "latinmodernmath.woff2"
CHARS = ROOT / "tests" / "math-font-chars.txt"

RANGES = [
    (0x0020, 0x007E), (0x00A0, 0x00FF), (0x0131, 0x0131), (0x0237, 0x0237), (0x02C6, 0x02DC),
    (0x0300, 0x036F), (0x0391, 0x03C9), (0x03D1, 0x03D1), (0x03D5, 0x03D6), (0x03F0, 0x03F5),
    (0x2000, 0x206F), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2300, 0x23FF),
    (0x25A0, 0x25FF), (0x27C0, 0x27FF), (0x2980, 0x29FF), (0x2A00, 0x2AFF),
    (0x1D400, 0x1D4B5),  # bold, italic, bold italic, script capitals
    (0x1D538, 0x1D56B),  # double-struck
    (0x1D5A0, 0x1D5D3),  # sans-serif
    (0x1D670, 0x1D6A3),  # monospace
    (0x1D6A8, 0x1D7D7),  # Greek bold and italic, bold digits
]


def codepoints() -> list[int]:
    return [c for lo, hi in RANGES for c in range(lo, hi + 1)]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.exit(__doc__)
    options = subset.Options()
    options.layout_features = ["*"]
    options.flavor = "woff2"
    options.name_IDs = ["*"]  # keep the copyright and license names
    font = subset.load_font(argv[0], options)
    sub = subset.Subsetter(options)
    sub.populate(unicodes=codepoints())
    sub.subset(font)
    font["head"].created = font["head"].modified = 0  # deterministic bytes
    OUT.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(OUT), options)
    chars = sorted(font.getBestCmap())
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    CHARS.write_text(f"# the characters of {OUT.name} (tools/make_math_font.py), sha256 {digest}\n"
                     + "".join(f"{c:04X}\n" for c in chars), encoding="utf-8")
    print(f"{OUT}: {OUT.stat().st_size:,} B, {len(font.getGlyphOrder())} glyphs, {len(chars)} characters")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
