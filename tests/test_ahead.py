"""The Chinese pages' code run ahead in forked processes (hooks/ahead.py).

Whether the pages come out the same is checked on the whole book: the determinism test compares
a build that runs the Chinese pages ahead with one that runs them in the main process
(``GDBOOK_AHEAD=0``), byte for byte; ``test_the_book_ran_its_chinese_pages_ahead`` checks that
the first one did.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time

import pytest

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("gdbook_hooks_ahead", ROOT / "hooks" / "ahead.py")
ahead = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ahead
_spec.loader.exec_module(ahead)


@pytest.fixture
def queue():
    q = ahead.Ahead()
    q.open()
    yield q
    q.close()


def test_jobs_run_in_child_processes_one_at_a_time(queue):
    parent = os.getpid()
    queue.add("a", lambda: {"pid": os.getpid(), "x": [1, 2]})
    queue.add("b", lambda: {"pid": os.getpid(), "y": "两"})
    assert queue.running[0] == "a" and [n for n, _ in queue.queue] == ["b"]
    a = queue.take("a")  # waits for a, then starts b
    assert queue.running[0] == "b"
    b = queue.take("b")
    assert a["x"] == [1, 2] and b["y"] == "两"
    assert len({parent, a["pid"], b["pid"]}) == 3
    assert queue.forked == 2 and queue.served == 2 and queue.running is None


def test_a_child_sees_the_parent_state_when_it_starts(queue):
    state = {"n": 1}
    queue.add("first", lambda: state["n"])
    state["n"] = 2  # after the fork: the running child does not see it
    queue.add("second", lambda: state["n"])  # forked later, when "first" is done
    assert queue.take("first") == 1
    assert queue.take("second") == 2


def test_a_failed_job_gives_none(queue):
    queue.add("bad", lambda: 1 / 0)
    queue.add("good", lambda: "ok")
    assert queue.take("bad") is None
    assert queue.take("good") == "ok"
    assert queue.served == 1


def test_a_job_not_started_is_dropped_and_the_caller_does_the_work(queue):
    queue.add("slow", lambda: time.sleep(0.3) or "slow")
    queue.add("later", lambda: "later")
    assert queue.take("later") is None  # not started yet: dropped, never run
    assert queue.queue == []
    assert queue.take("slow") == "slow"
    assert queue.forked == 1


def test_nothing_runs_when_disabled():
    q = ahead.Ahead()
    q.add("a", lambda: 1)
    assert q.take("a") is None and q.forked == 0


def test_close_stops_a_running_child(queue):
    queue.add("forever", lambda: time.sleep(60))
    pid = queue.running[1]
    queue.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@pytest.mark.parametrize("command, env, want", [
    ("build", None, True), ("build", "0", False), ("build", "1", True), ("serve", None, False),
    ("gh-deploy", None, False),
])
def test_only_a_clean_build_runs_pages_ahead(monkeypatch, command, env, want):
    if env is None:
        monkeypatch.delenv("GDBOOK_AHEAD", raising=False)
    else:
        monkeypatch.setenv("GDBOOK_AHEAD", env)
    assert ahead.wanted(command) is want


def test_the_book_ran_its_chinese_pages_ahead(site):
    log = site.with_name(site.name + ".log")
    if not log.exists():
        pytest.skip("a site built before (GDBOOK_SITE): its build log is not kept")
    found = re.search(r"run ahead: (\d+) of (\d+) Chinese pages, (\d+) of their blocks run again", log.read_text())
    assert found, "the build log does not say how many Chinese pages were run ahead"
    served, forked, rerun = map(int, found.groups())
    assert served >= 1 and served <= forked
    assert rerun == 0, f"the main process ran {rerun} blocks of pages that had been run ahead"
