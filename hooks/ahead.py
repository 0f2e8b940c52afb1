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

One child runs at a time, below the main process and the labs' kernels (``PRIORITY`` says why).
Children need Linux's ``/proc`` to give themselves file offsets of their own (``_own_file_offsets``).
``GDBOOK_AHEAD=0`` turns this off.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import re
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
    return (command == "build" and os.environ.get("GDBOOK_AHEAD", "1") != "0" and hasattr(os, "fork")
            and os.path.isdir("/proc/self/fd"))  # without it a child could not own its file offsets


@dataclass
class Job:
    """Work for a child process: ``run()`` yields ``(name, result)`` pairs, each as soon as it is
    ready (a page pair yields its English page's outputs before it runs the Chinese twin)."""

    names: tuple[str, ...]
    run: Callable[[], Iterable[tuple[str, object]]]


class Ahead:
    """Jobs run in child processes, one child at a time; their results by name.

    Two lists: ``queue``, jobs added as the build goes (the Chinese twin of a page just rendered),
    and ``spare``, jobs known from the start (page pairs, English and Chinese, in build order).
    When no child runs, the next one is forked with every job waiting, last first: the spare
    ones (except the first, the main process's next page), then the queued ones. So children
    work from the end of the book while the main process works from its start, and later take
    the Chinese pages from the end while the main process, in its Chinese build, takes them
    from the start. A job is *claimed* before it is run, by the child or by the main process
    (``take``), whichever comes first, through a file created only if it does not exist yet: a
    child skips a job the main process has claimed, and the main process waits for a job a
    child has claimed. So the two meet once, in the middle, and no page is run twice.
    """

    def __init__(self):
        self.enabled = False
        self.queue: list[Job] = []
        self.spare: list[Job] = []
        self.names: set[str] = set()  # every name a job was added under
        self.running: int | None = None  # the child's pid
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
            os.kill(self.running, signal.SIGKILL)
            os.waitpid(self.running, 0)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.enabled, self.queue, self.spare, self.names, self.running, self.tmp = False, [], [], set(), None, None

    def _path(self, name: str, kind: str = "pickle") -> Path:
        return self.tmp / f"{name.replace('/', '~')}.{kind}"

    def _claim(self, name: str, pid: int | None = None) -> bool:
        """Claim ``name`` for process ``pid`` (this one by default): the claim holds the pid.
        False if it was claimed already, by another process."""
        pid = pid or os.getpid()
        holder = self.tmp / f"{pid}.pid"
        if not holder.exists():
            part = holder.with_suffix(f".{os.getpid()}.part")
            part.write_text(str(pid))
            os.replace(part, holder)
        claim = self._path(name, "claim")
        try:
            os.link(holder, claim)  # atomic: fails if the claim exists
            return True
        except FileExistsError:
            return claim.read_text() == str(pid)

    def _claimed_by_child(self, name: str) -> bool:
        """Has the running child claimed ``name``?"""
        try:
            return self._alive() and int(self._path(name, "claim").read_text()) == self.running
        except (FileNotFoundError, ValueError):
            return False

    def add(self, name: str, job: Callable[[], object]) -> None:
        """Run ``job()`` in a child process, its result under ``name``, when its turn comes."""
        if self.enabled:
            self.queue.append(Job((name,), lambda: [(name, job())]))
            self.names.add(name)
            self.pump()

    def add_spare(self, names: tuple[str, ...], run: Callable[[], Iterable[tuple[str, object]]]) -> None:
        """A job known from the start (spare jobs are given to children from the last)."""
        if self.enabled:
            self.spare.append(Job(tuple(names), run))
            self.names.update(names)

    def promised(self, name: str) -> bool:
        """Has a child given a result under ``name``, or claimed it while still running?"""
        if not self.enabled:
            return False
        return self._path(name).exists() or self._claimed_by_child(name)

    def pump(self) -> None:
        """Fork a child for the jobs waiting, if no child runs (called at page events)."""
        if not self.enabled or self._alive():
            return
        # The first spare job is the main process's next page: it keeps it (a child that claimed
        # it now would make the main process wait for what it would do itself in that time).
        jobs = self.spare[:0:-1] + self.queue[::-1]
        self.spare, self.queue = self.spare[:1], []
        if jobs:
            self.running = self._fork(jobs)
            for name in jobs[0].names:  # the child's first job is its own at once
                self._claim(name, self.running)

    def take(self, name: str):
        """The result named ``name``: given by a child, or waited for if a child claimed it. None
        if the main process is to do the work itself: it claims it then, and no child will."""
        if not self.enabled or name not in self.names:
            return None
        self.queue = [job for job in self.queue if name not in job.names]
        self.spare = [job for job in self.spare if name not in job.names]
        path = self._path(name)
        if not path.exists() and not self._claim(name):  # a child has it: wait for it
            start = time.perf_counter()
            while not path.exists() and self._claimed_by_child(name):
                time.sleep(0.005)
            self.waited += time.perf_counter() - start
            self.pump()
        if not path.exists():
            return None
        with path.open("rb") as f:
            result = pickle.load(f)
        path.unlink()
        self.served += bool(result)
        return result

    def _alive(self) -> bool:
        """Is a child running? One that has ended is reaped and its CPU time counted."""
        if self.running is None:
            return False
        pid, _, usage = os.wait4(self.running, os.WNOHANG)
        if pid == 0:
            return True
        self.cpu += usage.ru_utime + usage.ru_stime
        self.running = None
        return False

    def _fork(self, jobs: list[Job]) -> int:
        self.forked += 1
        sys.stdout.flush(), sys.stderr.flush()
        pid = os.fork()
        if pid:
            return pid
        code = 1  # the child: run the jobs it can claim, write their results, leave without cleaning up
        try:
            self.enabled, self.queue, self.spare, self.running = False, [], [], None  # no grandchildren
            gc.freeze()  # the collector leaves the parent's objects alone: fewer pages copied
            _own_file_offsets()
            os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)
            logging.disable(logging.CRITICAL)  # the main process reports what went wrong
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1), os.dup2(null, 2)
            sys.stdout = sys.stderr = open(os.devnull, "w")
            for job in jobs:
                if not self._claim(job.names[0]):
                    continue  # the main process got there first
                for name in job.names[1:]:
                    self._claim(name)
                try:
                    for name, result in job.run():
                        path = self._path(name)
                        part = path.with_suffix(".part")
                        with part.open("wb") as f:
                            pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
                        os.replace(part, path)
                except Exception:  # noqa: BLE001 - the main process runs what is missing and reports it
                    continue
            code = 0
        finally:
            os._exit(code)


def _own_file_offsets() -> None:
    """In a child just forked: give each file it inherited open for reading a file offset of its own.

    A forked child shares its parent's open files, offsets included, and Matplotlib reads a
    font's glyphs as they are needed, seeking in the font file it keeps open. A parent and a
    child drawing text at the same moment moved each other's offset: a glyph read from the
    wrong place failed ("FT2Font: invalid outline") or could be drawn wrong. Each such file
    is opened again under the same descriptor, at the same position.
    """
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
            flags = int(re.search(r"^flags:\s*(\d+)", Path(f"/proc/self/fdinfo/{fd}").read_text(), re.M).group(1), 8)
            if not path.startswith("/") or not os.path.isfile(path) or flags & os.O_ACCMODE != os.O_RDONLY:
                continue
            fresh = os.open(path, os.O_RDONLY | (flags & os.O_CLOEXEC))
        except (OSError, AttributeError, ValueError):
            continue  # gone, or not a file of its own (a pipe, a socket, a deleted file)
        os.lseek(fresh, os.lseek(fd, 0, os.SEEK_CUR), os.SEEK_SET)
        os.dup2(fresh, fd, inheritable=not flags & os.O_CLOEXEC)
        os.close(fresh)


AHEAD = Ahead()
