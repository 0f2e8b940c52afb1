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


def _done(queue):
    """Wait until the running child has ended."""
    while queue._alive():
        time.sleep(0.01)


def test_jobs_waiting_go_to_one_child_the_last_added_first(queue):
    parent = os.getpid()
    queue.add("a", lambda: (time.sleep(0.2), os.getpid())[1])  # a child starts with it at once
    queue.add("b", lambda: os.getpid())
    queue.add("c", lambda: os.getpid())
    assert [job.names for job in queue.queue] == [("b",), ("c",)]
    a = queue.take("a")
    _done(queue)
    queue.pump()  # the next child: c, then b
    c = queue.take("c")
    _done(queue)  # b is the child's once it has started it: here, wait until it is done
    b = queue.take("b")
    assert b == c != a and parent not in (a, b)
    assert queue.forked == 2 and queue.served == 3


def test_spare_jobs_go_to_children_from_the_last_but_the_first_is_the_callers(queue):
    ran = []
    for page in ("p1", "p2", "p3"):
        queue.add_spare((f"en-{page}", f"zh-{page}"),
                        lambda page=page: ((n, (n, os.getpid())) for n in (f"en-{page}", f"zh-{page}")))
    queue.pump()
    assert queue.forked == 1 and [job.names for job in queue.spare] == [("en-p1", "zh-p1")]
    assert queue.take("en-p1") is None  # the caller's next page: no child has it
    for name in ("en-p3", "zh-p3"):  # the child's first job
        ran.append(queue.take(name))
    _done(queue)
    for name in ("en-p2", "zh-p2"):
        ran.append(queue.take(name))
    assert [n for n, _ in ran] == ["en-p3", "zh-p3", "en-p2", "zh-p2"]
    assert len({pid for _, pid in ran}) == 1 and queue.forked == 1


def test_a_job_the_caller_claims_first_is_never_run_by_a_child(queue, tmp_path):
    def job(name, wait=0.0):
        def run():
            time.sleep(wait)
            (tmp_path / name).touch()
            yield name, name
        return run

    queue.add_spare(("next",), job("next"))
    queue.add_spare(("mine",), job("mine"))
    queue.add_spare(("slow",), job("slow", wait=0.5))
    queue.pump()  # a child takes slow, then mine
    assert queue.take("mine") is None, "claimed by the caller while the child was busy with slow"
    assert queue.take("slow") == "slow"
    _done(queue)
    assert not (tmp_path / "mine").exists(), "the child ran a job the caller had claimed"
    assert (tmp_path / "slow").exists()


def test_a_job_hands_over_each_result_as_soon_as_it_is_ready(queue):
    def pair():
        yield "en", "first"
        time.sleep(60)  # the second result is far away: taking the first must not wait for it
        yield "zh", "second"

    queue.add_spare(("later",), lambda: [("later", 0)])  # the caller's next page
    queue.add_spare(("en", "zh"), pair)
    queue.pump()
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
    _done(queue)
    queue.pump()
    assert queue.take("second") == 2


def test_names_with_slashes(queue):
    queue.add("zh-api/rules", lambda: "ok")
    assert queue.take("zh-api/rules") == "ok"


def test_a_failed_job_gives_none_and_the_child_goes_on(queue):
    queue.add("first", lambda: time.sleep(0.2))  # a child starts: the next two wait for it
    queue.add("good", lambda: "ok")
    queue.add("bad", lambda: 1 / 0)
    queue.take("first")
    _done(queue)
    queue.pump()
    assert queue.take("bad") is None  # the second child's first job
    _done(queue)
    assert queue.take("good") == "ok"
    assert queue.forked == 2


def test_a_job_that_fails_halfway_keeps_what_it_gave(queue):
    def pair():
        yield "en", "first"
        raise RuntimeError("the Chinese page failed")

    queue.add_spare(("next",), lambda: [("next", 0)])
    queue.add_spare(("en", "zh"), pair)
    queue.pump()
    assert queue.take("zh") is None  # waits while the child has it: nothing under this name
    assert queue.take("en") == "first"
    assert not queue.promised("zh")


def test_a_name_no_job_gives_is_none_at_once(queue):
    queue.add("slow", lambda: time.sleep(0.3) or "slow")
    start = time.monotonic()
    assert queue.take("other") is None and time.monotonic() - start < 0.2
    assert queue.take("slow") == "slow"


def test_nothing_runs_when_disabled():
    q = ahead.Ahead()
    q.add("a", lambda: 1)
    assert q.take("a") is None and q.forked == 0


def test_close_stops_a_running_child(queue):
    queue.add("forever", lambda: time.sleep(60))
    pid = queue.running
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


def test_the_book_ran_pages_ahead(build_log):
    found = re.search(r"run ahead: (\d+) pages in (\d+) child processes, (\d+) of their blocks run again", build_log)
    assert found, "the build log does not say how many pages were run ahead"
    served, forked, rerun = map(int, found.groups())
    assert served >= 1 and forked >= 1
    pages = len(list((ROOT / "docs").rglob("*.md")))
    assert served <= pages, f"{served} pages served, of {pages}: a page was served twice"
    assert rerun == 0, f"the main process ran {rerun} blocks of pages that had been run ahead"


def test_a_child_moves_no_file_offset_of_the_parent(queue, tmp_path):
    """Matplotlib reads glyphs from font files it keeps open, seeking as it goes: a child drawing
    text moved the parent's offset in the same file, and the parent drew from the wrong place."""
    path = tmp_path / "font.bin"
    path.write_bytes(bytes(range(256)))
    fd = os.open(path, os.O_RDONLY)
    try:
        os.lseek(fd, 5, os.SEEK_SET)
        queue.add("reader", lambda: (os.lseek(fd, 0, os.SEEK_CUR), os.lseek(fd, 200, os.SEEK_SET), os.read(fd, 1)))
        start, _, byte = queue.take("reader")
        assert start == 5 and byte == bytes([200]), "the child sees the file where the parent left it"
        assert os.lseek(fd, 0, os.SEEK_CUR) == 5
        assert os.read(fd, 1) == bytes([5])
    finally:
        os.close(fd)
