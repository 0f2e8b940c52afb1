"""`mkdocs serve`: a rebuilt page runs only the code that changed, with the results of a clean build.

The hook (hooks/execution.py, ``Blocks``) wraps markdown-exec's Python runner: a block whose session
has run the same chain of code is served from the page's last build; the first block that has
to run is preceded by the skipped ones, so it sees the variables of a run from the top.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from markdown_exec._internal.formatters.base import ExecutionError

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "hooks" / "book.py"
sys.path.insert(0, str(ROOT / "tools"))

from bench_build import fetch, free_port  # noqa: E402
from run_page import blocks as page_blocks  # noqa: E402


def _hook():
    spec = importlib.util.spec_from_file_location("gdbook_book_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _hook()


@pytest.fixture
def blocks():
    import markdown_exec._internal.formatters.python as python

    run = getattr(python._run_python, "run", python._run_python)  # markdown-exec's own
    return hook.execution.Blocks(run, python._sessions_globals)


def build(blocks, page: list[str], session: str = "test-page") -> list[str]:
    """Build one page: its blocks, in order, in one session (as markdown-exec does)."""
    blocks.start_page([session])
    return [blocks(code, returncode=0, session=session, id=f"{session}#{n}") for n, code in enumerate(page, 1)]


PAGE = [
    "import random\nrng = random.Random(0)\nn = 3",
    "print(rng.random())",
    "print([round(rng.random(), 6) for _ in range(n)])",
]


def test_an_unchanged_page_runs_nothing_and_gives_the_same_output(blocks):
    first = build(blocks, PAGE)
    assert blocks.runs == 3
    assert build(blocks, PAGE) == first
    assert blocks.runs == 3


def test_a_changed_block_runs_after_the_skipped_ones_as_in_a_clean_build(blocks):
    build(blocks, PAGE)
    edited = [*PAGE[:2], PAGE[2].replace("round(", "1 + round(")]
    out = build(blocks, edited)
    assert blocks.runs == 3 + 3  # blocks 1 and 2 for the session's state, then block 3
    clean = hook.execution.Blocks(blocks.run, blocks.sessions)
    assert out == build(clean, edited, session="test-clean")
    assert build(blocks, edited) == out and blocks.runs == 6


def test_a_change_runs_every_later_block(blocks):
    build(blocks, PAGE)
    out = build(blocks, [PAGE[0].replace("Random(0)", "Random(1)"), *PAGE[1:]])
    assert blocks.runs == 6
    assert out[1] != build(hook.execution.Blocks(blocks.run, blocks.sessions), PAGE, session="test-clean")[1]


def test_every_build_of_a_page_starts_its_session_empty(blocks):
    build(blocks, ["x = 1"])
    with pytest.raises(ExecutionError, match="NameError"):
        build(blocks, ["print(x)"])


def test_a_failing_block_is_not_remembered(blocks):
    page = ["import itertools\ncalls = itertools.count()", "raise RuntimeError('boom')"]
    for _ in range(2):
        with pytest.raises(ExecutionError, match="boom"):
            build(blocks, page)
    assert blocks.runs == 2 + 2  # the failing block runs again, after the first one (for its state)


def test_sessions_are_remembered_apart(blocks):
    en, zh = build(blocks, PAGE, session="en-page"), build(blocks, PAGE, session="zh-page")
    assert en == zh and blocks.runs == 6
    assert build(blocks, PAGE[:2], session="en-page") == en[:2] and blocks.runs == 6


FIGURE_PAGE = [
    "import gdbook as gd\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\n"
    "print(gd.svg(fig))",
    "print(len(plt.get_fignums()))",
]


def test_blocks_run_again_for_their_variables_draw_no_figure(blocks, monkeypatch):
    import matplotlib.figure

    first = build(blocks, FIGURE_PAGE)
    assert first[0].startswith("<figure")
    drawn = []
    savefig = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda self, *a, **k: drawn.append(1) or savefig(self, *a, **k))
    out = build(blocks, [FIGURE_PAGE[0], FIGURE_PAGE[1] + "\nprint('edited')"])
    assert blocks.runs == 4 and drawn == []
    assert out[0] == first[0] and out[1] == first[1] + "edited\n"


def test_pages_print_their_figures_where_they_make_them():
    """The blocks run again for their variables draw no figure (``gd.svg`` returns "", and so
    ``gd.explore.html`` has no static figure), so a page may not keep what they return for a
    later block: every call is printed at once."""
    import ast

    for path in sorted((ROOT / "docs").glob("*.md")):
        for n, _, code in page_blocks(path.read_text(encoding="utf-8")):
            tree = ast.parse(code)
            printed = {id(node.args[0]) for node in ast.walk(tree) if isinstance(node, ast.Call)
                       and isinstance(node.func, ast.Name) and node.func.id == "print" and len(node.args) == 1}
            for node in ast.walk(tree):
                name = getattr(node.func, "attr", getattr(node.func, "id", None)) if isinstance(node, ast.Call) else None
                if name in ("svg", "html"):
                    assert id(node) in printed, f"{path.name} block {n}, line {node.lineno}: print({name}(...)) at once"


def test_exec_sessions_lists_the_executed_blocks_sessions():
    md = ('```python exec="on" session="a"\n```\n```python session="b"\n```\n'
          '```py exec="1" session="c"\n```\n```python exec="on" session="a"\n```\n')
    assert hook.execution.exec_sessions(md) == ["a", "c"]


def test_a_cells_outputs_to_one_stream_are_merged():
    """How a kernel splits a cell's prints into messages depends on timing: merged, every build
    gives the same page."""
    import nbformat

    cell = nbformat.v4.new_code_cell("print(1); print(2)", id="c01")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="2\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="w\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="3\n")]
    nb = nbformat.v4.new_notebook(cells=[cell])
    hook.labs.coalesce_streams(nb)
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stdout", "1\n2\n"), ("stderr", "w\n"), ("stdout", "3\n")]


def _notebook(code: str) -> str:
    import nbformat

    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code, id="c01")]))


def test_labs_are_executed_again_only_when_they_change_or_failed(tmp_path, monkeypatch):
    import nbformat

    runs = []

    def execute(path, out, *args):
        runs.append(nbformat.read(path, as_version=4).cells[0].source)
        if "fail" in runs[-1]:
            raise RuntimeError("kernel died")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(runs[-1])
        return str(out)

    monkeypatch.setattr(hook.labs.Labs, "_execute", staticmethod(execute))
    labs, lab = hook.labs.Labs(), tmp_path / "lab.ipynb"
    labs.open(workers=1)
    try:
        for text in ["one", "one", "two", "fail", "fail", "two"]:
            lab.write_text(_notebook(text))
            labs.start(lab, tmp_path, "python3", False)
            if text == "fail":
                with pytest.raises(RuntimeError):
                    labs.executed(lab)
            else:
                assert Path(labs.executed(lab)).read_text() == text
        assert runs == ["one", "two", "fail", "fail", "two"]
    finally:
        labs.close()
    assert labs.tmp is None


# ---------------------------------------------------------------------------
# The real server, on a one-page book
# ---------------------------------------------------------------------------

PROSE = "# A page\n\nProse {n}.\n\n"
CODE = '''```python exec="on"
import os, random
rng = random.Random(0)
with open(os.environ["GDBOOK_TEST_RUNS"], "a") as f:
    f.write("first\\n")
```

```python exec="on"
with open(os.environ["GDBOOK_TEST_RUNS"], "a") as f:
    f.write("second\\n")
print("{label}", rng.random())
```
'''


def _wait_for(url: str, text: str, proc, timeout: float = 120.0) -> str:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        html = fetch(url)
        if html and text in html:
            return html
        assert proc.poll() is None, "mkdocs serve exited"
        time.sleep(0.1)
    raise AssertionError(f"{text!r} was not served within {timeout} s")


@pytest.mark.build
def test_serve_rebuilds_an_edited_page_running_only_what_changed(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\ntheme:\n  name: material\n  font: false\nhooks: ['{HOOK}']\n"
        "markdown_extensions: [pymdownx.superfences]\n"
        "plugins:\n  - search\n  - markdown-exec:\n      languages: [python]\n", encoding="utf-8")
    page, runs = docs / "index.md", tmp_path / "runs.txt"
    page.write_text(PROSE.format(n=1) + CODE.format(label="draw"), encoding="utf-8")
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "--dirty", "--no-strict", "-a", f"127.0.0.1:{port}"],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ, GDBOOK_TEST_RUNS=str(runs)),
                            # Ctrl-C must reach the server: a shell running this in the background
                            # starts it with SIGINT ignored, and the child would inherit that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    url = f"http://127.0.0.1:{port}/"
    try:
        first = _wait_for(url, "Prose 1.", proc)
        assert runs.read_text().split() == ["first", "second"]
        draw = first[first.index("draw "):].split("<")[0]

        time.sleep(1.1)  # a new modification time for the watcher
        page.write_text(PROSE.format(n=2) + CODE.format(label="draw"), encoding="utf-8")
        second = _wait_for(url, "Prose 2.", proc)
        assert runs.read_text().split() == ["first", "second"], "an edit to the prose ran the code"
        assert draw in second

        time.sleep(1.1)
        page.write_text(PROSE.format(n=2) + CODE.format(label="again"), encoding="utf-8")
        third = _wait_for(url, "again ", proc)
        # the first block ran again before the second, so `rng` is the clean build's
        assert runs.read_text().split() == ["first", "second", "first", "second"]
        assert draw.replace("draw", "again") in third
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the server shuts down and cleans up
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        log.close()
    assert "exited with errors" not in (tmp_path / "serve.log").read_text()
