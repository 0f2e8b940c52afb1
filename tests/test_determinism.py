"""Two clean builds of the book are identical, byte for byte.

The only content allowed to differ is the build date in the sitemap (``<lastmod>``, and the
gzip header's timestamp of ``sitemap.xml.gz``): two builds that straddle midnight legitimately
differ there, and nothing a reader sees depends on it. Every other file, HTML or not, must be
byte-identical.

The second build is the plain one: every page's code runs in the main process
(``GDBOOK_AHEAD=0``) and every lab in a kernel started from nothing (``GDBOOK_ZYGOTE=0``). The
first runs pages in child processes forked while the main process renders others
(hooks/ahead.py) and the labs in kernels forked from a warm process (hooks/kernels.py). The two
ways must give the same site.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from conftest import build_site

pytestmark = pytest.mark.build

LASTMOD = re.compile(rb"<lastmod>[^<]*</lastmod>")


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _content(rel: str, path: Path) -> bytes:
    data = path.read_bytes()
    if rel == "sitemap.xml":
        return LASTMOD.sub(b"<lastmod/>", data)
    if rel == "sitemap.xml.gz":
        return LASTMOD.sub(b"<lastmod/>", gzip.decompress(data))
    return data


def test_two_clean_builds_are_identical(site, tmp_path):
    second = build_site(tmp_path / "second", env={"GDBOOK_AHEAD": "0", "GDBOOK_ZYGOTE": "0"})
    a, b = _files(site), _files(second)
    only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    assert not only_a and not only_b, f"files in one build only: first {only_a[:10]}, second {only_b[:10]}"
    differ = [rel for rel in a if _content(rel, a[rel]) != _content(rel, b[rel])]
    html = [rel for rel in differ if rel.endswith(".html")]
    assert not differ, (
        f"{len(differ)} file(s) differ between two clean builds ({len(html)} HTML): " + ", ".join(differ[:20])
    )
    assert any(rel.endswith(".html") for rel in a)
