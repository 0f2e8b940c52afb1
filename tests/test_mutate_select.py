"""tools/mutate_select.py: the mutation benchmark's pytest plugin runs exactly the tests named,
in the order named (mutmut names the fastest first), whichever way it collects them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"

TESTS = '''
import os
import pytest

def _log(name):
    with open(os.environ["ORDER_LOG"], "a") as f:
        f.write(name + "\\n")

@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_p(k):
    _log(f"p{k}")

def test_q():
    _log("q")
'''


def _run(tmp_path, args):
    (tmp_path / "test_a.py").write_text(TESTS)
    (tmp_path / "test_b.py").write_text(TESTS)
    log = tmp_path / "order.txt"
    log.unlink(missing_ok=True)
    env = {"PYTHONPATH": str(TOOLS), "ORDER_LOG": str(log), "PATH": ""}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "mutate_select",
                           "--rootdir", str(tmp_path), "-c", "/dev/null", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return log.read_text().split(), proc.stdout


def test_runs_the_named_tests_in_the_named_order(tmp_path):
    ids = ["test_b.py::test_p[2]", "test_a.py::test_q", "test_b.py::test_p[0]", "test_a.py::test_p[3]"]
    order, out = _run(tmp_path, ids)
    assert order == ["p2", "q", "p0", "p3"]
    assert "4 passed, 6 deselected" in out  # the plugin collected both files whole, then kept the four


def test_files_and_directories_are_left_alone(tmp_path):
    order, out = _run(tmp_path, ["test_a.py"])
    assert order == ["p0", "p1", "p2", "p3", "q"]
    assert "deselected" not in out
