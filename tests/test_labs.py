"""The labs: notebooks in both languages that run top to bottom and stay in step.

Every lab is ``docs/labs/<name>.ipynb`` (English) and ``docs/labs/<name>.zh.ipynb``
(Chinese). They are stored without outputs and with stable cell ids; the two
languages have the same cells and the same code once comments and string literals
are removed; each executes in a fresh kernel without error; the site renders each
with its outputs and a download button; chapters and labs link to each other.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import DOCS, ROOT
from test_parity import normalize

sys.path.insert(0, str(ROOT / "tools"))
from notebook import dumps as notebook_dumps  # noqa: E402
from notebook import normalize as notebook_normalize  # noqa: E402

LABS = DOCS / "labs"
NAMES = sorted(p.name[: -len(".ipynb")] for p in LABS.glob("*.ipynb") if not p.name.endswith(".zh.ipynb"))
#: The chapters each lab builds on: the lab links to them and they link back.
CHAPTERS = {
    "learning-rate": ["gradient-descent", "sgd"],
    "write-an-optimizer": ["adam", "momentum"],
    "deep-net-doctor": ["vanishing-exploding-gradients", "initialization", "batch-normalization"],
    "second-order": ["newton-method", "feature-scaling"],
}


def notebook(name: str, lang: str) -> Path:
    return LABS / (f"{name}.ipynb" if lang == "en" else f"{name}.zh.ipynb")


def read(name: str, lang: str) -> nbformat.NotebookNode:
    return nbformat.read(notebook(name, lang), as_version=4)


def test_the_four_labs_exist_in_both_languages():
    assert NAMES == sorted(CHAPTERS), f"labs found: {NAMES}"
    for name in NAMES:
        assert notebook(name, "zh").exists(), f"{name}: no Chinese notebook"
    orphans = [p.name for p in LABS.glob("*.zh.ipynb") if not (LABS / p.name.replace(".zh.ipynb", ".ipynb")).exists()]
    assert not orphans, f"Chinese notebooks without an English one: {orphans}"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs_and_with_stable_ids(name, lang):
    path = notebook(name, lang)
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name} stores outputs"
    assert [c.id for c in nb.cells] == [f"c{i:02d}" for i in range(1, len(nb.cells) + 1)], f"{path.name}: cell ids"
    assert text == notebook_dumps(notebook_normalize(nbformat.reads(text, as_version=4))), (
        f"{path.name} is not normalized: run .venv/bin/python tools/notebook.py normalize {path}"
    )


@pytest.mark.parametrize("name", NAMES)
def test_languages_have_the_same_cells_and_code(name):
    en, zh = read(name, "en"), read(name, "zh")
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in zh.cells], f"{name}: cell types differ"
    for a, b in zip(en.cells, zh.cells):
        if a.cell_type == "code":
            ta, tb = [t for t, _ in normalize(a.source)], [t for t, _ in normalize(b.source)]
            assert ta == tb, f"{name}: code of cell {a.id} differs between English and Chinese"
        else:
            ha = re.findall(r"^#+ ", a.source, re.M)
            hb = re.findall(r"^#+ ", b.source, re.M)
            assert ha == hb, f"{name}: headings of cell {a.id} differ ({ha} vs {hb})"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", NAMES)
def test_runs_top_to_bottom_in_a_fresh_kernel(name, lang):
    from nbclient import NotebookClient

    nb = read(name, lang)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(LABS)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{notebook(name, lang).name}: {errors[0].ename}: {errors[0].evalue}"
    assert sum(len(c.outputs) for c in nb.cells if c.cell_type == "code") > 0


@pytest.mark.parametrize("name", NAMES)
def test_lab_and_chapters_link_to_each_other(name):
    for lang in ("en", "zh"):
        text = "".join(c.source for c in read(name, lang).cells if c.cell_type == "markdown")
        for chapter in CHAPTERS[name]:
            assert f"../../{chapter}/" in text, f"{notebook(name, lang).name} does not link to {chapter}"
    for chapter in CHAPTERS[name]:
        for suffix in (".md", ".zh.md"):
            page = (DOCS / f"{chapter}{suffix}").read_text(encoding="utf-8")
            assert f"labs/{name}.ipynb" in page, f"{chapter}{suffix} does not link to the lab {name}"


OUTPUT = re.compile(r'class="[^"]*jp-OutputArea-output')


@pytest.mark.build
@pytest.mark.parametrize("name", NAMES)
def test_site_renders_labs_with_outputs_and_download(site, name):
    counts = {}
    for lang, prefix in (("en", ""), ("zh", "zh/")):
        page = site / prefix / "labs" / name / "index.html"
        assert page.exists(), f"{page} missing"
        html = page.read_text(encoding="utf-8")
        counts[lang] = len(OUTPUT.findall(html))
        assert counts[lang] > 0, f"{lang} {name}: no executed output on the page"
        assert "Traceback" not in html, f"{lang} {name}: an error output on the page"
        target = notebook(name, lang).name
        assert f'href="{target}" download' in html, f"{lang} {name}: no download button"
        assert (page.parent / target).exists(), f"{lang} {name}: {target} not copied next to the page"
        assert not re.search(r'<script[^>]*src="(https?:)?//', html), f"{lang} {name}: external script"
    assert counts["en"] == counts["zh"], f"{name}: {counts['en']} outputs in English, {counts['zh']} in Chinese"


@pytest.mark.build
def test_lab_pages_share_one_notebook_stylesheet(site):
    """nbconvert's ~590 KB of CSS lives in one file, linked from every lab page, not inlined."""
    sheets = set()
    for name in NAMES:
        for prefix in ("", "zh/"):
            page = site / prefix / "labs" / name / "index.html"
            html = page.read_text(encoding="utf-8")
            links = re.findall(r'<link rel="stylesheet" href="([^"]*assets/stylesheets/notebook-[0-9a-f]+\.css)">', html)
            assert len(links) == 1, f"{prefix}{name}: {len(links)} notebook stylesheet links"
            sheet = (page.parent / links[0]).resolve()
            assert sheet.is_file() and sheet.stat().st_size > 100_000, f"{prefix}{name}: {links[0]} missing"
            sheets.add(sheet)
            outside_svg = re.sub(r"<svg\b.*?</svg>", "", html, flags=re.S)
            assert not re.search(r"<style[^>]*>\s*@charset|jp-shadow-base-lightness", outside_svg), \
                f"{prefix}{name}: nbconvert CSS still inlined"
    assert len(sheets) == 1, sheets


def test_a_chinese_lab_s_headings_get_the_ids_its_contents_link_to():
    """nbconvert drops non-ASCII from heading ids (id="" for 病人); the page's table of contents
    links to the toc extension's ids, which the headings now carry, as do their anchor links."""
    from mkdocs.structure.toc import AnchorLink
    from test_serve import hook

    top = AnchorLink("实验", "_1", 1)
    top.children = [AnchorLink("病人", "_2", 2), AnchorLink("Adam 的 β", "adam", 2)]
    html = ('<h1 id="">实验<a class="anchor-link" href="#">¶</a></h1><p>x</p>'
            '<h2 id="">病人<a class="anchor-link" href="#">¶</a></h2>'
            '<h2 id="adam">Adam 的 β<a class="anchor-link" href="#adam">¶</a></h2>')
    out = hook.labs.heading_ids(html, [top])
    assert re.findall(r'<h\d id="([^"]*)"', out) == ["_1", "_2", "adam"]
    assert re.findall(r'class="anchor-link" href="#([^"]*)"', out) == ["_1", "_2", "adam"]


@pytest.mark.build
def test_every_heading_of_every_built_lab_has_the_id_its_contents_link_to(site):
    problems = []
    for page in sorted(site.glob("**/labs/*/index.html")):
        text = page.read_text(encoding="utf-8")
        ids = set(re.findall(r'<h[1-6] id="([^"]+)"', text))
        links = re.findall(r'<a href="#([^"]*)" class="md-nav__link">', text)
        problems += [f"{page.relative_to(site)}: contents link #{i} has no heading" for i in links if i not in ids]
        if '<h2 id=""' in text or 'class="anchor-link" href="#"' in text:
            problems.append(f"{page.relative_to(site)}: a heading without an id")
    assert not problems, "\n".join(problems)
