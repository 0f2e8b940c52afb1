"""Pages' code run ahead in forked processes (hooks/ahead.py).

Whether the pages come out the same is checked on the whole book: the determinism test compares
a build that runs pages ahead with one that runs them all in the main process
(``GDBOOK_AHEAD=0``), byte for byte; ``test_the_book_ran_pages_ahead`` checks that the first one
did.
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


def test_jobs_run_in_child_processes_one_at_a_time_the_last_added_first(queue):
    parent = os.getpid()
    queue.add("a", lambda: {"pid": os.getpid(), "x": [1, 2]})  # starts at once
    queue.add("b", lambda: {"pid": os.getpid(), "y": "两"})
    queue.add("c", lambda: {"pid": os.getpid()})
    assert queue.running[0].names == ("a",) and [job.names for job in queue.queue] == [("b",), ("c",)]
    a = queue.take("a")  # waits for a, then starts the last one queued
    assert queue.running[0].names == ("c",)
    c = queue.take("c")
    assert queue.running[0].names == ("b",)
    b = queue.take("b")
    assert a["x"] == [1, 2] and b["y"] == "两"
    assert len({parent, a["pid"], b["pid"], c["pid"]}) == 4
    assert queue.forked == 3 and queue.served == 3 and queue.running is None


def test_spare_jobs_start_from_the_last_and_the_first_is_left_to_the_caller(queue):
    for page in ("p1", "p2", "p3"):
        queue.add_spare((f"en-{page}", f"zh-{page}"), lambda page=page: ((n, n) for n in (f"en-{page}", f"zh-{page}")))
    queue.pump()
    assert queue.running[0].names == ("en-p3", "zh-p3")
    assert queue.take("en-p1") is None  # the caller's next page: dropped, never run in a child
    assert queue.running[0].names == ("en-p3", "zh-p3")
    assert queue.take("en-p3") == "en-p3"
    assert queue.take("zh-p3") == "zh-p3"
    queue.pump()
    assert queue.running is None, "p2 is now the caller's next page: no child starts on it"
    assert [job.names for job in queue.spare] == [("en-p2", "zh-p2")]


def test_spare_jobs_wait_while_jobs_are_queued_last():
    q = ahead.Ahead()
    q.open()
    try:
        q.add_spare(("s1",), lambda: [("s1", 1)])
        q.add_spare(("s2",), lambda: [("s2", 2)])
        q.add("queued", lambda: "q")  # the spare jobs come first: s2 starts, not "queued"
        assert q.running[0].names == ("s2",)
        assert q.take("s2") == 2
        assert q.running[0].names == ("queued",), "one spare job left (the caller's): the queue's turn"
    finally:
        q.close()


def test_a_job_hands_over_each_result_as_soon_as_it_is_ready(queue):
    def pair():
        yield "en", "first"
        time.sleep(60)  # the second result is far away: taking the first must not wait for it
        yield "zh", "second"

    queue.add_spare(("later",), lambda: [("later", 0)])  # the caller's next page
    queue.add_spare(("en", "zh"), pair)
    queue.pump()
    assert queue.running[0].names == ("en", "zh")
    start = time.monotonic()
    assert queue.take("en") == "first"
    assert time.monotonic() - start < 30
    assert queue.promised("zh") and not queue.promised("later")


def test_a_child_sees_the_parent_state_when_it_starts(queue):
    state = {"n": 1}
    queue.add("first", lambda: state["n"])
    state["n"] = 2  # after the fork: the running child does not see it
    queue.add("second", lambda: state["n"])  # forked later, when "first" is done
    assert queue.take("first") == 1
    assert queue.take("second") == 2


def test_names_with_slashes(queue):
    queue.add("zh-api/rules", lambda: "ok")
    assert queue.take("zh-api/rules") == "ok"


def test_a_failed_job_gives_none(queue):
    queue.add("bad", lambda: 1 / 0)
    queue.add("good", lambda: "ok")
    assert queue.take("bad") is None
    assert queue.take("good") == "ok"
    assert queue.served == 1


def test_a_job_that_fails_halfway_keeps_what_it_gave(queue):
    def pair():
        yield "en", "first"
        raise RuntimeError("the Chinese page failed")

    queue.add_spare(("next",), lambda: [("next", 0)])
    queue.add_spare(("en", "zh"), pair)
    queue.pump()
    assert queue.take("zh") is None  # waits for the child to end: nothing under this name
    assert queue.take("en") == "first"


def test_a_job_not_started_is_dropped_and_the_caller_does_the_work(queue):
    queue.add("slow", lambda: time.sleep(0.3) or "slow")
    queue.add("later", lambda: "later")
    assert queue.take("later") is None  # not started yet: dropped, never run
    assert queue.queue == []
    assert queue.take("slow") == "slow"
    assert queue.forked == 1
    queue.add_spare(("en-x", "zh-x"), lambda: [("en-x", 1), ("zh-x", 2)])
    queue.add_spare(("en-y", "zh-y"), lambda: [("en-y", 1), ("zh-y", 2)])
    assert queue.take("en-y") is None and [job.names for job in queue.spare] == [("en-x", "zh-x")]


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


def test_the_book_ran_pages_ahead(site):
    log = site.with_name(site.name + ".log")
    if not log.exists():
        pytest.skip("a site built before (GDBOOK_SITE): its build log is not kept")
    found = re.search(r"run ahead: (\d+) pages in (\d+) child processes, (\d+) of their blocks run again", log.read_text())
    assert found, "the build log does not say how many pages were run ahead"
    served, forked, rerun = map(int, found.groups())
    assert served >= 1 and forked >= 1
    assert served <= 2 * forked, "a child runs one page, or one page and its Chinese twin"
    assert rerun == 0, f"the main process ran {rerun} blocks of pages that had been run ahead"
