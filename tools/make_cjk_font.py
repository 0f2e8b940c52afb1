"""Make the regular-weight Chinese font that gdbook ships for figure labels.

    .venv/bin/python tools/make_cjk_font.py

The OFL font Noto Sans CJK comes from the PyPI package ``manimgx-fonts-cjk`` as a
variable font whose default instance is the thinnest weight (100), which looks faint
beside DejaVu Sans. Instancing all 65,000 glyphs at weight 400 takes about ten
minutes, so this script first keeps the characters figure labels use (ASCII, the
3,755 level-1 hanzi of GB 2312, CJK punctuation and full-width forms), then instances
that subset at weight 400 and renames its family to ``gdbook Noto Sans SC`` so that it
can stand first in matplotlib's fallback list, with the full variable font behind it
for rarer characters. Output: ``gdbook/fonts/gdbook-NotoSansSC-Regular.otf``.
The result is deterministic (fixed timestamps), so re-running it changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import manimgx_fonts_cjk
from fontTools import subset
from fontTools.ttLib import TTCollection
from fontTools.varLib import instancer

FAMILY = "gdbook Noto Sans SC"
OUT = Path(__file__).resolve().parents[1] / "gdbook" / "fonts" / "gdbook-NotoSansSC-Regular.otf"


def label_charset() -> str:
    chars = {chr(c) for c in range(0x20, 0x7F)}
    chars |= {chr(c) for c in range(0x3000, 0x3040)} | {chr(c) for c in range(0xFF00, 0xFFF0)}
    chars |= set("·—–…‘’“”")
    for b1 in range(0xB0, 0xD8):  # GB 2312 level 1
        for b2 in range(0xA1, 0xFF):
            try:
                chars.add(bytes([b1, b2]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(sorted(chars))


def main() -> None:
    source = Path(manimgx_fonts_cjk.__file__).with_name("NotoSansCJK-VF.otf.ttc")
    font = next(f for f in TTCollection(source).fonts if f["name"].getDebugName(1) == "Noto Sans CJK SC")
    opts = subset.Options()
    opts.layout_features = []
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.desubroutinize = True
    sub = subset.Subsetter(opts)
    sub.populate(text=label_charset())
    sub.subset(font)
    font = instancer.instantiateVariableFont(font, {"wght": 400})
    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 16):
            rec.string = FAMILY
        elif rec.nameID in (2, 17):
            rec.string = "Regular"
        elif rec.nameID == 4:
            rec.string = f"{FAMILY} Regular"
        elif rec.nameID == 6:
            rec.string = "gdbook-NotoSansSC-Regular"
    font["OS/2"].usWeightClass = 400
    font["head"].created = font["head"].modified = 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
