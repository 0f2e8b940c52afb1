"""Theme files no reader can use, left out of the site.

Material ships source maps for its scripts and stylesheets, and lunr's word splitters for some
thirty languages; the book's search needs lunr for its two languages only (English and
Chinese: ``lunr.zh``, ``lunr.multi`` and the stemmer support). The rest is about 2 MB of the
site that no page ever requests (the browser tests check that every page loads without a
failed request).
"""

from __future__ import annotations

from pathlib import Path

LUNR_KEEP = {"lunr.multi.min.js", "lunr.stemmer.support.min.js"}


def prune(site_dir: Path, langs: list[str]) -> list[Path]:
    """Remove the source maps and the lunr files of languages the search does not use."""
    assets = Path(site_dir) / "assets"
    keep = LUNR_KEEP | {f"lunr.{lang}.min.js" for lang in langs if lang != "en"}
    gone = sorted(assets.glob("javascripts/**/*.map")) + sorted(assets.glob("stylesheets/**/*.map"))
    lunr = assets / "javascripts" / "lunr"
    gone += sorted(p for p in lunr.glob("min/*.js") if p.name not in keep)
    gone += [p for p in (lunr / "tinyseg.js", lunr / "wordcut.js") if "ja" not in langs and p.exists()]
    for p in gone:
        p.unlink()
    return gone
