"""Make the math font the pages draw from: a subset of Latin Modern Math as WOFF2.

    apt-get download fonts-lmodern && dpkg -x fonts-lmodern_*.deb /tmp/lm
    .venv/bin/python tools/make_math_font.py /tmp/lm/usr/share/texmf/fonts/opentype/public/lm-math/latinmodern-math.otf

The pages' math is MathML typeset at build (hooks/typeset.py), which the browser lays out with
an OpenType MATH font: Latin Modern Math (GUST Font License, the Computer Modern design of TeX;
Debian's ``fonts-lmodern`` 2.005, or CTAN's ``lm-math``). The whole font is 734 KB; the subset keeps what the
book's formulas draw, with room to grow: whole alphabets (Basic Latin, Greek, and the
Mathematical Alphanumeric styles TeX's commands map to: italic, which the browser gives every
one-letter identifier, bold, bold Greek, script, double-struck capitals, monospace), the
accents, and the symbols in ``SYMBOLS`` (the operators, relations, arrows and delimiters the
book uses and their usual neighbours), with every glyph the MATH table and the layout features
reach from them (larger sizes, pieces of stretchy delimiters and radicals, script-size forms).
A formula with a character outside it fails the site test below: add the character to
``SYMBOLS`` and run this again. (Whole Unicode blocks, as this kept before, made a 278 KB file
that every page waited for; this one is 171 KB.)
It also writes the characters the subset has, with the font's digest, to
``tests/math-font-chars.txt``: ``tests/test_site.py`` checks that every character of every
formula of the built site is among them. Output: ``hooks/temml/latinmodernmath.woff2``,
deterministic; the site does not serve it whole: the build cuts from it the subset each page
needs (``hooks/mathfont.py``).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from fontTools import subset

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "hooks" / "temml" / "latinmodernmath.woff2"
CHARS = ROOT / "tests" / "math-font-chars.txt"

RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x0391, 0x03A9), (0x03B1, 0x03C9),  # Greek
    (0x1D400, 0x1D433),  # bold
    (0x1D434, 0x1D467),  # italic (the browser draws a one-letter <mi> with these)
    (0x1D49C, 0x1D4B5),  # script capitals
    (0x1D538, 0x1D551),  # double-struck capitals
    (0x1D68A, 0x1D6A5),  # monospace small letters, dotless i and j italic
    (0x1D6A8, 0x1D6C0),  # bold Greek capitals
    (0x1D6E2, 0x1D71B),  # italic Greek, with ∂ ∇ ϵ ϑ ϰ ϕ ϱ ϖ
    (0x1D736, 0x1D755),  # bold italic Greek small letters, with ∂ ∇ ϵ ϑ ϰ ϕ ϱ ϖ
    (0x1D7CE, 0x1D7D7),  # bold digits
]
#: Everything else a formula may hold: accents, Greek and letterlike variants, punctuation,
#: operators, relations, arrows, delimiters.
SYMBOLS = (
    "\u00a0¬¯°±²³´·¹×÷ˆˇ˘˙˚˜\u0300\u0301\u0302\u0303\u0304\u0307\u0308\u030c\u20d7"
    "ϑϕϖϰϱϵ\u2009\u200a\u2061\u2062\u2063\u2064–—‖†‡•…′″‴‾⁄"
    "ℂℎℏℑℒℓℕℙℚℛℜℝℤℬℰℱℋℐℳ℘"
    "←↑→↓↔↕↦↼⇀⇐⇑⇒⇓⇔⟵⟶⟷⟸⟹⟺⟼"
    "∀∁∂∃∄∅∆∇∈∉∋∌∏∐∑−∓∔∕∖∗∘∙√∛∜∝∞∠∡∣∤∥∦∧∨∩∪∫∬∭∮∴∵∶∷∼∽≀≁≃≅≈≉≍≐≔≕≜≝≠≡≢≤≥≦≧≪≫≮≯≰≱≲≳≺≻≼≽"
    "⊂⊃⊄⊅⊆⊇⊈⊉⊊⊋⊎⊓⊔⊕⊖⊗⊘⊙⊚⊛⊝⊞⊟⊠⊡⊢⊣⊤⊥⊨⊲⊳⊴⊵⊺⊻⋀⋁⋂⋃⋄⋅⋆⋈⋮⋯⋰⋱"
    "⌈⌉⌊⌋⌜⌝⌞⌟⎛⎜⎝⎞⎟⎠⎡⎢⎣⎤⎥⎦⎧⎨⎩⎪⎫⎬⎭⏜⏝⏞⏟□■△▽◦◯⟂⟦⟧⟨⟩⟮⟯⦅⦆⪯⪰⫽"
)


def codepoints() -> list[int]:
    return sorted({c for lo, hi in RANGES for c in range(lo, hi + 1)} | {ord(c) for c in SYMBOLS})


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.exit(__doc__)
    options = subset.Options()
    options.layout_features = ["ssty", "dtls"]  # script-size forms, dotless i and j under accents (not aalt)
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
