"""The labs' kernels forked from one warm process (hooks/kernels.py).

The whole book is checked by the determinism test, which builds it with forked kernels and with
plain ones (``GDBOOK_ZYGOTE=0``) and requires the same bytes; here, what a lab could notice of
the difference, on a small notebook, and the zygote's life.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time

import nbformat
import pytest

from conftest import ROOT


def _hook(name):
    spec = importlib.util.spec_from_file_location(f"gdbook_hooks_{name}", ROOT / "hooks" / f"{name}.py")
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


kernels, labs = _hook("kernels"), _hook("labs")

# What a kernel's environment decides: where it runs, what it sees, how it draws and computes.
CELLS = [
    "import os, sys, matplotlib, torch, numpy as np\n"
    "import matplotlib.pyplot as plt\n"
    "import gdbook as gd\n"
    "print(os.path.basename(os.getcwd()), sys.path[:2])",
    "print(matplotlib.get_backend(), torch.get_num_threads(), os.environ.get('GDBOOK_CACHE_DIR') is not None)",
    "print(gd.cache._STORE.on, gd.cache._STORE.directory is not None, 'JPY_PARENT_PID' in os.environ)",
    "fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)\nax.plot([0, 1], [1, 0])\nplt.show()",
    "torch.manual_seed(0)\nprint(torch.randn(3).tolist(), np.random.default_rng(0).normal(size=2).tolist())",
    "display({'text/plain': 'rich'}, raw=True)\n1 + 1",
]


def _outputs(nb_path, tmp_path, kernel_manager):
    out = tmp_path / ("zygote" if kernel_manager else "plain") / nb_path.name
    labs.Labs._execute(nb_path, out, "python3", False, tmp_path / "cache", kernel_manager)
    nb = nbformat.read(out, as_version=4)
    return [(cell.get("execution_count"), cell.outputs) for cell in nb.cells]


def _ends(pid: int, seconds: float = 10.0) -> bool:
    """Does process ``pid`` end within ``seconds``?"""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def zygote():
    z = kernels.Zygote()
    saved, kernels.ZYGOTE = kernels.ZYGOTE, z
    z.open(priority=0)
    yield z
    z.close()
    kernels.ZYGOTE = saved


def test_a_forked_kernel_runs_a_notebook_as_a_plain_kernel_does(zygote, tmp_path):
    directory = tmp_path / "labs"
    directory.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    path = directory / "probe.ipynb"
    nbformat.write(nb, path)
    forked = _outputs(path, tmp_path, kernels.kernel_manager)
    assert zygote.forked == 1 and zygote.fallbacks == []
    plain = _outputs(path, tmp_path, None)
    assert forked == plain
    texts = [o.get("text", "") for _, outputs in forked for o in outputs]
    assert texts[0].startswith("labs ")  # run in the notebook's directory
    assert texts[1].startswith("module://matplotlib_inline.backend_inline 1 True")
    assert texts[2] == "True True True\n"  # gdbook's cache on, in the lab's directory
    figure = forked[3][1]
    assert figure and figure[0]["output_type"] == "display_data" and "image/png" in figure[0]["data"]


def test_the_kernel_ends_when_the_lab_is_done(zygote, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nprint(os.getpid())")])
    path = tmp_path / "pid.ipynb"
    nbformat.write(nb, path)
    pid = int(_outputs(path, tmp_path, kernels.kernel_manager)[0][1][0]["text"])
    assert _ends(pid), f"the lab's kernel (pid {pid}) is still running"


def test_the_zygote_ends_with_the_build(tmp_path):
    """A build that ends without stopping the zygote (killed) leaves no process behind."""
    script = (
        "import importlib.util, sys, time\n"
        f"s = importlib.util.spec_from_file_location('k', {str(ROOT / 'hooks' / 'kernels.py')!r})\n"
        "k = importlib.util.module_from_spec(s); s.loader.exec_module(k)\n"
        "k.ZYGOTE.open(0)\n"
        "while not k.ZYGOTE.socket.exists(): time.sleep(0.05)\n"
        "print(k.ZYGOTE.process.pid, flush=True)\n"
        "import os; os._exit(0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    pid = int(proc.stdout.split()[0])
    if not _ends(pid):
        os.kill(pid, 9)
        pytest.fail("the zygote outlived the process that started it")


def test_a_kernel_the_zygote_cannot_fork_is_started_the_plain_way(zygote):
    assert zygote.fork(["/usr/bin/env", "R", "--slave"], dict(os.environ), str(ROOT)) is None
    assert zygote.fallbacks and "not a kernel the zygote can fork" in zygote.fallbacks[0]
    assert zygote.forked == 0


@pytest.mark.parametrize("command, env, want", [
    ("build", None, True), ("build", "0", False), ("serve", None, False), ("gh-deploy", None, False),
])
def test_only_a_clean_build_forks_kernels(monkeypatch, command, env, want):
    """Under `mkdocs serve` a lab must see gdbook as edited since the server started."""
    if env is None:
        monkeypatch.delenv("GDBOOK_ZYGOTE", raising=False)
    else:
        monkeypatch.setenv("GDBOOK_ZYGOTE", env)
    assert kernels.wanted(command) is want


def test_the_book_forked_its_lab_kernels(build_log):
    found = re.search(r"lab kernels: (\d+) forked from a warm process(.*)", build_log)
    assert found, "the build log does not say how the labs' kernels were started"
    labs_built = len(list((ROOT / "docs" / "labs").glob("*.ipynb")))
    assert int(found.group(1)) == labs_built and not found.group(2), found.group(0)
    assert "To connect another client" not in build_log, "a kernel printed the console banner of `ipython kernel`"
