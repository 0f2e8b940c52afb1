"""Shared fixtures and helpers: the book built once per session, and the list of its pages.

A page is named by its *slug*: ``docs/<slug>.md`` (English) and ``docs/<slug>.zh.md``
(Chinese) build to ``<slug>/index.html`` and ``zh/<slug>/index.html``; the home page
``index`` builds to ``index.html`` and ``zh/index.html``. The API reference's pages are
``api/<name>`` (``docs/api/<name>.md``), its overview ``api/index`` (built to ``api/index.html``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

# The tests use small tensors; on a machine whose cores are shared, torch's thread pool
# only adds contention (a 200-step loop ran 17x slower with two threads than with one).
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LANGS = ("en", "zh")
#: Folders of docs/ whose pages are pages of the book too (the labs are notebooks, found apart).
SUBDIRS = ("api",)
#: The API reference's pages: its overview ``api/index`` and one page per module or small group
#: of modules.
API = frozenset(f"api/{p.name[: -len('.md')]}" for p in (DOCS / "api").glob("*.md") if not p.name.endswith(".zh.md"))
#: Pages whose body is generated (mkdocstrings renders the English docstrings in both languages).
GENERATED = API - {"api/index"}


def _sources(pattern: str) -> list[Path]:
    """The Markdown files of docs/ and of its page folders (SUBDIRS) whose name matches."""
    return [*DOCS.glob(pattern), *(p for d in SUBDIRS for p in (DOCS / d).glob(pattern))]


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


def slugs(include_generated: bool = True) -> list[str]:
    """Every page of the book: each ``docs/*.md`` and ``docs/api/*.md`` that is not a ``.zh.md``
    translation."""
    out = sorted(p.relative_to(DOCS).as_posix()[: -len(".md")] for p in _sources("*.md")
                 if not p.name.endswith(".zh.md"))
    return [s for s in out if include_generated or s not in GENERATED]


def zh_only_sources() -> list[str]:
    """Chinese sources without an English counterpart (there should be none)."""
    return sorted(p.relative_to(DOCS).as_posix()[: -len(".zh.md")] for p in _sources("*.zh.md")
                  if not p.with_name(p.name[: -len(".zh.md")] + ".md").exists())


def source(slug: str, lang: str) -> Path:
    """The Markdown source of ``slug`` in ``lang``."""
    return DOCS / (f"{slug}.md" if lang == "en" else f"{slug}.zh.md")


def url_path(slug: str, lang: str) -> str:
    """The page's URL path on the site, e.g. ``/zh/gradient-descent/``, ``/api/`` for ``api/index``."""
    prefix = "/" if lang == "en" else "/zh/"
    if slug == "index" or slug.endswith("/index"):
        return prefix + slug[: -len("index")]
    return f"{prefix}{slug}/"


def page_file(site: Path, slug: str, lang: str) -> Path:
    """The built HTML file of ``slug`` in ``lang`` under ``site``."""
    return site / url_path(slug, lang).lstrip("/") / "index.html"


def pages() -> list[tuple[str, str]]:
    """``(slug, lang)`` for every page in both languages."""
    return [(s, lang) for s in slugs() for lang in LANGS]


def built_pages(site: Path) -> list[tuple[str, str]]:
    """``(url_path, lang)`` of every HTML page in a built site (labs and generated pages included)."""
    out = []
    for f in sorted(site.rglob("index.html")):
        rel = f.parent.relative_to(site).as_posix()
        if rel.split("/")[0] in ("assets", "search"):
            continue
        path = "/" if rel == "." else f"/{rel}/"
        out.append((path, "zh" if path.startswith("/zh/") else "en"))
    return out


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------


def build_site(dest: Path, *, tail: int = 60, env: dict | None = None) -> Path:
    """``mkdocs build --strict`` into ``dest``, with ``env`` added to the environment; fail the calling
    test with the log's tail on error. The log is kept next to ``dest`` (``<dest>.log``)."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", **(env or {}))
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(dest)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    dest.with_name(dest.name + ".log").write_text(proc.stdout, encoding="utf-8")
    if proc.returncode != 0:
        log = proc.stdout.splitlines()
        relevant = [line for line in log if not line.startswith("INFO")]
        pytest.fail(
            f"mkdocs build --strict failed (exit {proc.returncode}) after {time.monotonic() - start:.0f} s; "
            f"last lines of the log:\n" + "\n".join(relevant[-tail:]),
            pytrace=False,
        )
    return dest


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The whole book, built once per test session with ``mkdocs build --strict``.

    ``GDBOOK_SITE=<dir>`` reuses a site built before (a quick loop while editing the
    tests; never set in CI, where the book is always built afresh).
    """
    prebuilt = os.environ.get("GDBOOK_SITE")
    if prebuilt and not os.environ.get("CI"):
        return Path(prebuilt).resolve()
    return build_site(tmp_path_factory.mktemp("book") / "site")


@pytest.fixture(scope="session")
def build_log(site) -> str:
    """The log of the build of ``site`` (skips when the site was built before: GDBOOK_SITE)."""
    log = site.with_name(site.name + ".log")
    if not log.exists():
        pytest.skip("a site built before (GDBOOK_SITE): its build log is not kept")
    return log.read_text(encoding="utf-8")


def pytest_collection_modifyitems(config, items):
    """Tests that use the built site are ``build`` tests (deselect with ``-m "not build"``)."""
    for item in items:
        if "site" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("build"):
            item.add_marker(pytest.mark.build)
