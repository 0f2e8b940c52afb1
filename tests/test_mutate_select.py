"""tools/mutate_select.py: the mutation benchmark's pytest plugin runs exactly the tests mutmut
names for a mutant; first those that killed the latest mutants, then the others in mutmut's
order (fastest first)."""

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

def test_fails():
    _log("fails")
    assert os.environ.get("MUTANT") != "1"
'''


def _run(tmp_path, args, killers=None, mutant=False):
    (tmp_path / "test_a.py").write_text(TESTS)
    (tmp_path / "test_b.py").write_text(TESTS)
    log = tmp_path / "order.txt"
    log.unlink(missing_ok=True)
    env = {"PYTHONPATH": str(TOOLS), "ORDER_LOG": str(log), "PATH": "", "MUTANT": "1" if mutant else "0"}
    if killers is not None:
        env["GDBOOK_MUTATE_KILLERS"] = str(killers)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                           "-p", "mutate_select", "--rootdir", str(tmp_path), "-c", "/dev/null", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == (1 if mutant else 0), proc.stdout + proc.stderr
    return log.read_text().split(), proc.stdout


def test_runs_the_named_tests_in_the_named_order(tmp_path):
    ids = ["test_b.py::test_p[2]", "test_a.py::test_q", "test_b.py::test_p[0]", "test_a.py::test_p[3]"]
    order, out = _run(tmp_path, ids)
    assert order == ["p2", "q", "p0", "p3"]
    assert "4 passed, 8 deselected" in out  # the plugin collected both files whole, then kept the four


def test_files_and_directories_are_left_alone(tmp_path):
    order, out = _run(tmp_path, ["test_a.py"])
    assert order == ["p0", "p1", "p2", "p3", "q", "fails"]
    assert "deselected" not in out


def test_the_latest_killers_run_first_and_a_failure_is_recorded(tmp_path):
    killers = tmp_path / "killers.txt"
    killers.write_text("test_a.py::test_q\ntest_b.py::test_p[0]\n")  # test_p[0] killed the latest mutant
    ids = ["test_b.py::test_p[2]", "test_a.py::test_q", "test_b.py::test_p[0]", "test_a.py::test_p[3]"]
    order, _ = _run(tmp_path, ids, killers)
    assert order == ["p0", "q", "p2", "p3"]
    assert killers.read_text().split() == ["test_a.py::test_q", "test_b.py::test_p[0]"]  # all passed
    # a mutant: the failing test stops the run (-x) and is recorded as the latest killer
    order, _ = _run(tmp_path, ids + ["test_a.py::test_fails", "test_b.py::test_p[1]"], killers, mutant=True)
    assert order == ["p0", "q", "p2", "p3", "fails"]
    assert killers.read_text().split()[-1] == "test_a.py::test_fails"
    order, _ = _run(tmp_path, ["test_b.py::test_p[1]", "test_a.py::test_fails"], killers, mutant=True)
    assert order == ["fails"]  # the next mutant: the latest killer first
