"""The pages' code, run ahead in forked processes while the main process renders other pages.

mkdocs-static-i18n builds both languages in one process, the English pages first, and a page's
code is most of what rendering it costs. A Chinese page runs its English twin's code (only
comments and strings differ): the same experiments, which it takes from gdbook's cache, and its
own figures, which it draws again with Chinese labels.

So in a clean ``mkdocs build`` the hook forks, and the child runs pages' blocks and inline values
and hands their outputs back under the digests by which ``hooks/execution.py`` remembers a page's
last build for ``mkdocs serve``. When the main process reaches such a page, each block is served
from those outputs and none runs. Two kinds of job:

* a *page pair* from the end of the book: the English page, then its Chinese twin, in one child
  (the twin finds the English page's experiments in the child's cache); the main process works
  from the start of the book, and the pairs it reaches first it runs itself;
* the *Chinese twin* of an English page the main process has rendered: the child starts with
  every experiment computed so far.

An output is a function of the code its session has run (seeds are fixed and experiments are
memoized by content), so the page is the same as if the main process had run it (a test compares
the two). A block that failed in the child, or a child that failed, leaves no output: the main
process runs that block itself and reports its error as usual.

One child runs at a time, at a priority between the main process's and the labs' kernels'.
``GDBOOK_AHEAD=0`` turns this off.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Iterable

# Niceness: below the main process and the labs' kernels (labs.PRIORITY, hooks/labs.py). A child's
# work is work the main process can do itself when it gets there first (``take`` drops a job not
# started); a kernel's work only a kernel can do, and the main process waits for it at the end of
# each language. While the main process waits for a child, its core is free for the child.
PRIORITY = 10


def wanted(command: str) -> bool:
    """Run pages ahead in this command (``mkdocs build``, unless ``GDBOOK_AHEAD=0``)?"""
    return command == "build" and os.environ.get("GDBOOK_AHEAD", "1") != "0" and hasattr(os, "fork")


@dataclass
class Job:
    """Work for a child process: ``run()`` yields ``(name, result)`` pairs, each as soon as it is
    ready (a page pair yields its English page's outputs before it runs the Chinese twin)."""

    names: tuple[str, ...]
    run: Callable[[], Iterable[tuple[str, object]]]


class Ahead:
    """Jobs, each run in a child forked when its turn comes; their results by name.

    Two lists: ``queue``, jobs added as the build goes (the Chinese twin of a page just rendered),
    and ``spare``, jobs known from the start (page pairs, English and Chinese, in build order).
    When no child runs, the next one starts with the last spare job, so children work from the
    end of the book towards the main process, which works from its start. The first spare job
    is the main process's next page and stays its own; once it is the only one left, the next
    child starts with the last job queued, so the children take the Chinese pages from the end
    while the main process, in its Chinese build, takes them from the start. Whatever the main
    process reaches first it does itself (``take`` drops the job): the two meet once, in the
    middle.
    """

    def __init__(self):
        self.enabled = False
        self.queue: list[Job] = []
        self.spare: list[Job] = []
        self.running: tuple[Job, int] | None = None  # (job, pid)
        self.tmp: Path | None = None
        self.forked = 0  # children started
        self.served = 0  # non-empty results handed to the main process
        self.rerun = 0  # blocks of those pages run again in the main process (counted by the hook)
        self.cpu = 0.0  # CPU seconds of the children
        self.waited = 0.0  # seconds the main process waited for a child

    def open(self) -> None:
        if not self.enabled:
            self.enabled, self.tmp = True, Path(tempfile.mkdtemp(prefix="gdbook-ahead-"))

    def close(self) -> None:
        if self.running is not None:
            os.kill(self.running[1], signal.SIGKILL)
            os.waitpid(self.running[1], 0)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.enabled, self.queue, self.spare, self.running, self.tmp = False, [], [], None, None

    def _path(self, name: str) -> Path:
        return self.tmp / f"{name.replace('/', '~')}.pickle"

    def add(self, name: str, job: Callable[[], object]) -> None:
        """Run ``job()`` in a child process, its result under ``name``, when its turn comes."""
        if self.enabled:
            self.queue.append(Job((name,), lambda: [(name, job())]))
            self.pump()

    def add_spare(self, names: tuple[str, ...], run: Callable[[], Iterable[tuple[str, object]]]) -> None:
        """A job for when a child is free and nothing is queued (spare jobs start from the last)."""
        if self.enabled:
            self.spare.append(Job(tuple(names), run))

    def promised(self, name: str) -> bool:
        """Has a child given a result under ``name``, or is the running child to give it?"""
        if not self.enabled:
            return False
        return self._path(name).exists() or (self.running is not None and name in self.running[0].names)

    def pump(self) -> None:
        """Start the next job if none is running (called at every page event)."""
        if not self.enabled:
            return
        if self.running is not None and not self._reap(os.WNOHANG):
            return  # still running
        self.running = None
        # The first spare job is the main process's next page: it keeps it (a child started on
        # it now would make the main process wait for what it would do itself in that time).
        jobs = self.spare if len(self.spare) > 1 else self.queue
        if jobs:
            job = jobs.pop()
            self.running = (job, self._fork(job))

    def take(self, name: str):
        """The result named ``name`` (waiting for the running child if it is to give it), or
        None: not promised, failed, or not started yet (then its job is dropped: the caller does
        the work itself)."""
        if not self.enabled:
            return None
        self.queue = [job for job in self.queue if name not in job.names]
        self.spare = [job for job in self.spare if name not in job.names]
        path = self._path(name)
        if self.running is not None and name in self.running[0].names:
            start = time.perf_counter()
            last = name == self.running[0].names[-1]  # then the child ends once it is written
            while not path.exists():
                if self._reap(os.WNOHANG):
                    self.running = last = None
                    break
                time.sleep(0.005)
            if last:
                self._reap(0)
                self.running = None
            self.waited += time.perf_counter() - start
            self.pump()
        if not path.exists():
            return None
        with path.open("rb") as f:
            result = pickle.load(f)
        path.unlink()
        self.served += bool(result)
        return result

    def _reap(self, options: int) -> bool:
        """Has the running child ended (``options``: 0 waits for it)? Its CPU time is counted."""
        pid, _, usage = os.wait4(self.running[1], options)
        if pid == 0:
            return False
        self.cpu += usage.ru_utime + usage.ru_stime
        return True

    def _fork(self, job: Job) -> int:
        self.forked += 1
        sys.stdout.flush(), sys.stderr.flush()
        pid = os.fork()
        if pid:
            return pid
        code = 1  # the child: run the job, write its results, and leave without cleaning up
        try:
            self.enabled, self.queue, self.spare, self.running = False, [], [], None  # no grandchildren
            gc.freeze()  # the collector leaves the parent's objects alone: fewer pages copied
            os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)
            logging.disable(logging.CRITICAL)  # the main process reports what went wrong
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1), os.dup2(null, 2)
            sys.stdout = sys.stderr = open(os.devnull, "w")
            for name, result in job.run():
                path = self._path(name)
                part = path.with_suffix(".part")
                with part.open("wb") as f:
                    pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(part, path)
            code = 0
        finally:
            os._exit(code)


AHEAD = Ahead()
