"""tools/mutate_run.py: the mutation benchmark collects a module's tests once, and each mutant's
child runs, in that session, exactly the tests mutmut names for it (the latest killers first),
stops at the first failure and exits as ``pytest -x <ids>`` would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"

CONFTEST = '''
import os
import pytest

def _log(name):
    with open(os.environ["ORDER_LOG"], "a") as f:
        f.write(name + "\\n")

@pytest.fixture(scope="session")
def mutant():
    _log("setup")  # a session fixture: set up in each child, after its mutant is switched on
    return os.environ.get("MUTANT")
'''

TESTS = '''
import pytest
from conftest import _log

@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_p(k, mutant):
    _log(f"p{k}")

def test_q():
    _log("q")

def test_fails(mutant):
    _log("fails")
    assert mutant != "1"

def test_error(mutant):
    _log("error")
    if mutant == "2":
        raise RuntimeError("a mutant that breaks the code under test")
'''

# collect once in this process, then run each case in a forked child (as mutmut's ForkRunner
# does); print each child's exit code and the tests it ran
DRIVER = '''
import json, os, sys
import mutate_run

collected = mutate_run.collect(["-q", "-p", "no:cacheprovider", "-p", "mutate_select", "-x",
                                "--rootdir", ".", "-c", "/dev/null", "test_a.py", "test_b.py"])
log = os.environ["ORDER_LOG"]
results = []
for mutant, ids in json.loads(sys.argv[1]):
    open(log, "w").close()
    pid = os.fork()
    if pid == 0:
        os.environ["MUTANT"] = mutant
        os._exit(mutate_run.run_collected(collected, ids))
    _, status = os.waitpid(pid, 0)
    results.append([os.waitstatus_to_exitcode(status), open(log).read().split()])
print(json.dumps(results))
'''


def _run(tmp_path, cases, killers=None):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_a.py").write_text(TESTS)
    (tmp_path / "test_b.py").write_text(TESTS)
    env = {"PYTHONPATH": str(TOOLS), "ORDER_LOG": str(tmp_path / "order.txt"), "PATH": ""}
    if killers is not None:
        env["GDBOOK_MUTATE_KILLERS"] = str(killers)
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(cases)], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [tuple(r) for r in json.loads(proc.stdout.strip().splitlines()[-1])]


def test_each_child_runs_the_named_tests_in_order_and_exits_as_pytest_would(tmp_path):
    ids = ["test_b.py::test_p[2]", "test_a.py::test_q", "test_b.py::test_p[0]", "test_a.py::test_p[3]"]
    out = _run(tmp_path, [
        ["0", ids],  # survives: all pass
        ["1", ids + ["test_a.py::test_fails", "test_b.py::test_p[1]"]],  # killed: stops at the failure
        ["2", ["test_a.py::test_error", "test_a.py::test_q"]],  # an error in a test is a failure too
        ["0", []],  # no tests named
        ["1", ids],  # the failing test not named: survives
    ])
    assert out[0] == (0, ["setup", "p2", "q", "p0", "p3"])
    assert out[1] == (1, ["setup", "p2", "q", "p0", "p3", "fails"])
    assert out[2] == (1, ["setup", "error"])
    assert out[3] == (5, [])
    assert out[4] == (0, ["setup", "p2", "q", "p0", "p3"])


def test_the_latest_killers_run_first_and_a_failure_is_recorded(tmp_path):
    killers = tmp_path / "killers.txt"
    killers.write_text("test_a.py::test_q\ntest_b.py::test_p[0]\n")
    ids = ["test_b.py::test_p[2]", "test_a.py::test_q", "test_b.py::test_p[0]", "test_a.py::test_fails"]
    out = _run(tmp_path, [["0", ids], ["1", ids], ["1", ["test_b.py::test_p[1]", "test_a.py::test_fails"]]],
               killers)
    assert out[0] == (0, ["setup", "p0", "q", "p2", "fails"])
    assert out[1] == (1, ["setup", "p0", "q", "p2", "fails"])
    assert out[2] == (1, ["setup", "fails"])  # the latest killer first: the child stops there
    assert killers.read_text().split() == ["test_a.py::test_q", "test_b.py::test_p[0]",
                                           "test_a.py::test_fails", "test_a.py::test_fails"]
