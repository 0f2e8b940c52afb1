"""The package readers install, published with the site (used by hooks/book.py).

Every build writes gdbook's wheel and sdist, of the version in ``pyproject.toml``, under the
site: ``downloads/gdbook-<version>-py3-none-any.whl`` and ``downloads/gdbook-<version>.tar.gz``.
They are built deterministically: from a copy of the package's sources with normalized file
modes, with ``SOURCE_DATE_EPOCH`` set to the time of the last commit (or a constant outside a
git checkout), and with the sdist's tar and gzip headers normalized; two builds of one source
give the same bytes. Under ``mkdocs serve`` they are built again only when a source changed.

Pages name them through placeholders that the hook fills in before Markdown is rendered::

    pip install {{ gdbook.wheel_url }} --extra-index-url {{ gdbook.torch_index }}

``{{ gdbook.version }}``, ``{{ gdbook.wheel_url }}``, ``{{ gdbook.sdist_url }}`` (absolute, from
``site_url``) and ``{{ gdbook.torch_index }}``; any other ``{{ gdbook.… }}`` fails the build.
Lab pages get links to both files and the install line from ``lab_links``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import tomllib
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.downloads")

ROOT = Path(__file__).resolve().parents[1]
#: What the wheel and sdist are made from (the rest of the repository is the book).
SOURCES = ("pyproject.toml", "README.md", "gdbook")
#: PyTorch's index of CPU builds: where the install line sends pip for torch.
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
#: 1980-01-01, the earliest time a zip archive records: the date outside a git checkout.
EPOCH_FALLBACK = 315532800
PLACEHOLDER = re.compile(r"\{\{\s*gdbook\.(\w+)\s*\}\}")


def version(root: Path = ROOT) -> str:
    """The package's version, as ``pyproject.toml`` states it."""
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def names(ver: str) -> tuple[str, str]:
    """The file names of the wheel and the sdist of version ``ver``."""
    return f"gdbook-{ver}-py3-none-any.whl", f"gdbook-{ver}.tar.gz"


def source_date_epoch(root: Path = ROOT) -> int:
    """``SOURCE_DATE_EPOCH`` if set, else the last commit's time, else ``EPOCH_FALLBACK``."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%ct"],
                             capture_output=True, text=True, timeout=30)
        return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip().isdigit() else EPOCH_FALLBACK
    except (OSError, subprocess.SubprocessError):
        return EPOCH_FALLBACK


def _source_files(root: Path) -> list[Path]:
    files = []
    for name in SOURCES:
        path = root / name
        if path.is_file():
            files.append(path)
        else:
            files += [p for p in sorted(path.rglob("*")) if p.is_file()
                      and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")]
    return files


def digest(root: Path = ROOT, epoch: int | None = None) -> str:
    """A digest of everything the two files are made from: the sources and the date."""
    h = hashlib.sha256(str(source_date_epoch(root) if epoch is None else epoch).encode())
    for f in _source_files(root):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


_BUILD = """
import os, sys
out = sys.argv[1]  # setuptools' build_meta rewrites sys.argv
os.umask(0o022)
from setuptools import build_meta
build_meta.build_sdist(out)
build_meta.build_wheel(out)
"""


def build(dest: Path, root: Path = ROOT, epoch: int | None = None) -> tuple[Path, Path]:
    """Build the wheel and the sdist of ``root`` into ``dest``; return their paths.

    The sources are copied first (so no ``build/`` or ``*.egg-info`` of the checkout enters or
    is left behind), with modes 644/755, and built by setuptools (``pyproject.toml``'s backend)
    in the running interpreter, which must have it (the ``docs`` extra does).
    """
    epoch = source_date_epoch(root) if epoch is None else epoch
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gdbook-dist-") as tmp:
        src, out = Path(tmp, "src"), Path(tmp, "out")
        for f in _source_files(root):
            target = src / f.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
            target.chmod(0o644)
        for d in [src, *[p for p in src.rglob("*") if p.is_dir()]]:
            d.chmod(0o755)
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch), PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.run([sys.executable, "-c", _BUILD, str(out)], cwd=src, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"building gdbook's wheel and sdist failed:\n{proc.stdout}\n{proc.stderr}")
        wheel_name, sdist_name = names(version(root))
        wheel, sdist = dest / wheel_name, dest / sdist_name
        shutil.copyfile(out / wheel_name, wheel)
        sdist.write_bytes(_normalized_sdist((out / sdist_name).read_bytes(), epoch))
    return wheel, sdist


def _normalized_sdist(data: bytes, epoch: int) -> bytes:
    """The sdist with members in name order, one date, no owner, modes 644/755 and a fixed gzip header."""
    members = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            content = tar.extractfile(m).read() if m.isfile() else None
            members.append((m, content))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out:
        for m, content in sorted(members, key=lambda mc: mc[0].name):
            m.mtime, m.uid, m.gid, m.uname, m.gname = epoch, 0, 0, "", ""
            m.mode = 0o755 if m.isdir() else 0o644
            m.pax_headers = {}
            out.addfile(m, io.BytesIO(content) if content is not None else None)
    zipped = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=zipped, mtime=epoch, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return zipped.getvalue()


# ---------------------------------------------------------------------------
# The hook's side: build once per source, in the background; write with the site
# ---------------------------------------------------------------------------


class _Downloads:
    def __init__(self):
        self.key: str | None = None
        self.thread: threading.Thread | None = None
        self.files: tuple[Path, Path] | None = None
        self.error: BaseException | None = None
        self.tmp: Path | None = None
        self.site_url = "/"

    def start(self, site_url: str) -> None:
        """Start building, in a thread, unless the current sources were built (or are being built)."""
        self.site_url = site_url if site_url.endswith("/") else site_url + "/"
        key = digest()
        if key == self.key:
            return
        self.key, self.files, self.error = key, None, None
        if self.tmp is None:
            self.tmp = Path(tempfile.mkdtemp(prefix="gdbook-downloads-"))

        def run(dest=self.tmp / key):
            try:
                self.files = build(dest)
            except BaseException as e:  # reported by write()
                self.error = e

        self.thread = threading.Thread(target=run, name="gdbook-dist", daemon=True)
        self.thread.start()

    def write(self, site_dir: str) -> None:
        """Copy the two files into ``<site_dir>/downloads/`` (waiting for the build if need be)."""
        self.thread.join()
        if self.error is not None:
            raise self.error
        target = Path(site_dir, "downloads")
        target.mkdir(parents=True, exist_ok=True)
        for f in self.files:
            shutil.copyfile(f, target / f.name)
        log.info(f"gdbook {version()}: {', '.join(f.name for f in self.files)} written to {target}")

    def values(self) -> dict[str, str]:
        wheel, sdist = names(version())
        return {
            "version": version(),
            "wheel_url": f"{self.site_url}downloads/{wheel}",
            "sdist_url": f"{self.site_url}downloads/{sdist}",
            # printed from the built site by `make pdf` (tools/pdf.py), which the deploy workflow runs
            "pdf_en_url": f"{self.site_url}downloads/gdbook-en.pdf",
            "pdf_zh_url": f"{self.site_url}downloads/gdbook-zh.pdf",
            "torch_index": TORCH_INDEX,
        }


DOWNLOADS = _Downloads()


def start(config) -> None:
    """At the start of a (re)build, in the default language: build the files in the background."""
    DOWNLOADS.start(config.site_url or "/")


def fill(markdown: str, where: str) -> str:
    """Fill in a page's ``{{ gdbook.… }}`` placeholders; an unknown one is an error."""
    values = DOWNLOADS.values()

    def sub(m: re.Match) -> str:
        if m.group(1) not in values:
            raise ValueError(f"{where}: unknown placeholder {m.group(0)} (known: {', '.join(values)})")
        return values[m.group(1)]

    return PLACEHOLDER.sub(sub, markdown)


def write(config) -> None:
    """At the end of the whole build: put the files under the site."""
    if DOWNLOADS.thread is None:  # no build was started (a config event this hook did not see)
        start(config)
    DOWNLOADS.write(config.site_dir)


LAB_TEXT = {
    "en": ("The package this lab runs on, gdbook {version}: ", "wheel", " · ", "sdist"),
    "zh": ("本实验所用的 gdbook {version}：", "wheel 安装包", "、", "源码包（sdist）"),
}


def lab_links(lang: str, url: str) -> str:
    """HTML for a lab page whose URL is ``url``: links to the wheel and the sdist, and the install line."""
    v = DOWNLOADS.values()
    wheel, sdist = names(v["version"])
    up = "../" * url.count("/")
    text, wheel_label, between, sdist_label = LAB_TEXT[lang]
    return (
        f'<p class="gd-package">{text.format(version=v["version"])}'
        f'<a href="{up}downloads/{wheel}" download>{wheel_label}</a>{between}'
        f'<a href="{up}downloads/{sdist}" download>{sdist_label}</a></p>\n'
        f'<pre class="gd-install"><code>pip install {v["wheel_url"]} --extra-index-url {TORCH_INDEX}</code></pre>\n'
    )
