"""The package readers install: gdbook's wheel and sdist, built with the site (hooks/downloads.py).

The build writes ``downloads/gdbook-<version>-py3-none-any.whl`` and ``.tar.gz`` under the site,
deterministically; the home page's install line names the wheel there and PyTorch's CPU index,
and every lab page links to both files. The slow test does what a reader does: it runs the home
page's install line in a fresh virtual environment (so only the wheel's declared dependencies
are there) and runs a lab notebook downloaded from the built site against it.
"""

from __future__ import annotations

import email
import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from html import unescape
from pathlib import Path

import pytest

from conftest import ROOT, page_file

spec = importlib.util.spec_from_file_location("gdbook_hooks_downloads", ROOT / "hooks" / "downloads.py")
downloads = importlib.util.module_from_spec(spec)
spec.loader.exec_module(downloads)

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSION = PROJECT["version"]
WHEEL, SDIST = f"gdbook-{VERSION}-py3-none-any.whl", f"gdbook-{VERSION}.tar.gz"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
#: The lab the slow test runs: the quickest one to execute.
LAB = "write-an-optimizer"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The wheel and sdist, built twice from the same sources."""
    a = downloads.build(tmp_path_factory.mktemp("dist-a"))
    b = downloads.build(tmp_path_factory.mktemp("dist-b"))
    return a, b


def test_names_follow_the_version(built):
    (wheel, sdist), _ = built
    assert (wheel.name, sdist.name) == (WHEEL, SDIST)


def test_two_builds_give_the_same_bytes(built):
    for first, second in zip(*built):
        assert first.read_bytes() == second.read_bytes(), f"{first.name} differs between two builds"


def test_the_date_is_part_of_the_build(tmp_path):
    """SOURCE_DATE_EPOCH is what makes the bytes stable, and it does reach the archives."""
    wheel, sdist = downloads.build(tmp_path, epoch=downloads.EPOCH_FALLBACK)
    with zipfile.ZipFile(wheel) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with tarfile.open(sdist) as t:
        assert {m.mtime for m in t.getmembers()} == {downloads.EPOCH_FALLBACK}


def test_wheel_holds_the_package_and_states_pyprojects_metadata(built):
    (wheel, _), _ = built
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = email.message_from_bytes(z.read(f"gdbook-{VERSION}.dist-info/METADATA"))
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "gdbook").rglob("*.py")}
    assert sources <= names, f"missing from the wheel: {sorted(sources - names)}"
    assert any(n.startswith("gdbook/fonts/") and n.endswith(".otf") for n in names)
    assert meta["Version"] == VERSION
    assert meta["Requires-Python"] == PROJECT["requires-python"]
    plain = sorted(r for r in meta.get_all("Requires-Dist") if "extra ==" not in r)
    assert plain == sorted(PROJECT["dependencies"])


def test_sdist_holds_the_sources(built):
    (_, sdist), _ = built
    with tarfile.open(sdist) as t:
        names = {m.name for m in t.getmembers()}
    top = f"gdbook-{VERSION}"
    for need in ("pyproject.toml", "README.md", "PKG-INFO", "gdbook/__init__.py"):
        assert f"{top}/{need}" in names


def test_placeholders_are_filled_and_unknown_ones_fail():
    downloads.DOWNLOADS.site_url = "https://books.example/gd/"
    text = downloads.fill("pip install {{ gdbook.wheel_url }} --extra-index-url {{gdbook.torch_index}}", "x.md")
    assert text == f"pip install https://books.example/gd/downloads/{WHEEL} --extra-index-url {TORCH_INDEX}"
    with pytest.raises(ValueError, match="gdbook.wheel"):
        downloads.fill("{{ gdbook.wheel }}", "x.md")


@pytest.mark.parametrize("url, up", [("labs/learning-rate/", "../../"), ("zh/labs/learning-rate/", "../../../")])
def test_lab_links_lead_from_the_lab_page_to_the_site_root(url, up):
    html = downloads.lab_links("zh" if url.startswith("zh/") else "en", url)
    assert f'href="{up}downloads/{WHEEL}"' in html and f'href="{up}downloads/{SDIST}"' in html


# ---------------------------------------------------------------------------
# The built site
# ---------------------------------------------------------------------------

INSTALL = re.compile(r"pip install (\S+) --extra-index-url (\S+)")


def _site_url(site: Path) -> str:
    return re.search(r'<link rel="canonical" href="([^"]+)"', page_file(site, "index", "en").read_text()).group(1)


def _install_line(site: Path, lang: str) -> tuple[str, str]:
    text = unescape(re.sub(r"<[^>]+>", "", page_file(site, "index", lang).read_text(encoding="utf-8")))
    found = set(INSTALL.findall(text))
    assert len(found) == 1, f"{lang} home page: expected one install line, found {found}"
    return found.pop()


def test_site_publishes_the_built_package(site, built):
    (wheel, sdist), _ = built
    for f in (wheel, sdist):
        published = site / "downloads" / f.name
        assert published.is_file(), f"the site has no downloads/{f.name}"
        assert published.read_bytes() == f.read_bytes(), f"downloads/{f.name} is not the package built from these sources"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_home_page_install_line_names_the_published_wheel_and_torchs_index(site, lang):
    url, index = _install_line(site, lang)
    assert url == f"{_site_url(site)}downloads/{WHEEL}"
    assert index == TORCH_INDEX
    assert "{{" not in page_file(site, "index", lang).read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_lab_page_links_to_the_package(site, lang):
    labs = [p for p in (ROOT / "docs" / "labs").glob("*.ipynb") if p.name.endswith(".zh.ipynb") == (lang == "zh")]
    assert labs
    for nb in labs:
        name = nb.name.split(".")[0]
        page = site / ("zh/" if lang == "zh" else "") / "labs" / name / "index.html"
        html = page.read_text(encoding="utf-8")
        for target in re.findall(r'<p class="gd-package">.*?</p>', html, re.S):
            for href in re.findall(r'href="([^"]+)"', target):
                assert (page.parent / href).resolve().is_file(), f"{page}: {href} leads nowhere"
        assert f"downloads/{WHEEL}" in html and f"downloads/{SDIST}" in html, f"{page}: no link to the package"
        assert f"pip install {_site_url(site)}downloads/{WHEEL} --extra-index-url {TORCH_INDEX}" in html


@pytest.mark.build
def test_install_line_gives_a_package_that_runs_a_lab(site, tmp_path):
    """A reader's route: the home page's install line into a fresh venv, then a lab from the site.

    The wheel's URL is the site's (``site_url``); here it is read from the built site instead.
    The pip options are the Makefile's for PyTorch's index, so that where the index cannot be
    reached (as on the book's build machine, where pip's configuration holds the torch wheel)
    the install still finishes.
    """
    url, index = _install_line(site, "en")
    wheel = site / url.removeprefix(_site_url(site))
    assert wheel.is_file(), url
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    pip = subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel), "--extra-index-url", index,
                          "--timeout", "10", "--retries", "1"], capture_output=True, text=True)
    assert pip.returncode == 0, f"the install line failed:\n{pip.stdout}\n{pip.stderr}"
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                            check=True).stdout
    assert f"gdbook=={VERSION}" in listed
    assert "mkdocs" not in listed and "pytest" not in listed, "the install brought more than gdbook's dependencies"

    # A reader runs the lab in Jupyter: add a kernel (and the client that executes a notebook),
    # then execute the notebook downloaded from the lab page, as Jupyter would, in the venv.
    jupyter = subprocess.run([str(py), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"),
                              "ipykernel", "nbclient", "--timeout", "10", "--retries", "1"],
                             capture_output=True, text=True)
    assert jupyter.returncode == 0, f"installing a kernel failed:\n{jupyter.stderr}"
    notebook = site / "labs" / LAB / f"{LAB}.ipynb"  # what the lab page's download button gives
    assert notebook.is_file(), notebook
    # The kernel is the venv's own (ipykernel's kernel for the running Python; no user kernels);
    # a last cell reports which gdbook the lab imported.
    execute = (
        "import sys, nbformat, nbclient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nb.cells.append(nbformat.v4.new_code_cell('import gdbook; print(gdbook.__file__)'))\n"
        "nbclient.NotebookClient(nb, kernel_name='python3', timeout=1200, allow_errors=False).execute()\n"
        "print(nb.cells[-1].outputs[0]['text'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GDBOOK_CACHE_DIR", "JUPYTER_PATH")}
    env.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1", JUPYTER_DATA_DIR=str(tmp_path / "jupyter"))
    run = subprocess.run([str(py), "-c", execute, str(notebook)], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, f"the lab {LAB} failed against the installed wheel:\n{run.stderr[-3000:]}"
    assert str(venv) in run.stdout, f"the lab ran against {run.stdout}, not the installed wheel"
