"""The Chinese pages' code, run ahead in a forked process while the English pages are rendered.

mkdocs-static-i18n builds both languages in one process, the English pages first. A Chinese page
runs its English twin's code (only comments and strings differ): the same experiments, which it
takes from gdbook's cache, and its own figures, which it draws again with Chinese labels. That
second pass used to keep the main process busy for a third of the build while the second core
ran only the labs' kernels.

So in a clean ``mkdocs build`` the hook forks when an English page has been rendered: the child
process starts with every experiment computed so far, runs the Chinese twin's blocks and inline
values, and hands their outputs back under the digests by which ``hooks/execution.py`` remembers
a page's last build for ``mkdocs serve``. When the main process reaches the Chinese page, each
block is served from those outputs and none runs. An output is a function of the code its
session has run (seeds are fixed and experiments are memoized by content), so the page is the
same as if the main process had run it (a test compares the two). A block that failed in the
child, or a child that failed, leaves no output: the main process runs that block itself and
reports its error as usual.

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
from typing import Callable

# Niceness: below the main process, above the labs' kernels (labs.PRIORITY, hooks/labs.py). The labs are
# needed only when each language's chapters are done, the Chinese pages as soon as the English
# ones are; at equal priority the main process waited about 10 s for the children.
PRIORITY = 5


def wanted(command: str) -> bool:
    """Run pages ahead in this command (``mkdocs build``, unless ``GDBOOK_AHEAD=0``)?"""
    return command == "build" and os.environ.get("GDBOOK_AHEAD", "1") != "0" and hasattr(os, "fork")


class Ahead:
    """A queue of jobs, each run in a child forked when its turn comes; their results by name."""

    def __init__(self):
        self.enabled = False
        self.queue: list[tuple[str, Callable[[], object]]] = []
        self.running: tuple[str, int] | None = None  # (name, pid)
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
        self.enabled, self.queue, self.running, self.tmp = False, [], None, None

    def _path(self, name: str) -> Path:
        return self.tmp / f"{name}.pickle"

    def add(self, name: str, job: Callable[[], object]) -> None:
        """Run ``job()`` in a child process when the ones before it are done."""
        if self.enabled:
            self.queue.append((name, job))
            self.pump()

    def pump(self) -> None:
        """Start the next job if none is running (called at every page event)."""
        if not self.enabled:
            return
        if self.running is not None and not self._reap(os.WNOHANG):
            return  # still running
        self.running = None
        if self.queue:
            name, job = self.queue.pop(0)
            self.running = (name, self._fork(name, job))

    def take(self, name: str):
        """The result of job ``name`` (waiting for it), or None: not queued, failed, or not
        started yet (then it is dropped from the queue: the caller does the work itself)."""
        if not self.enabled:
            return None
        self.queue = [(n, job) for n, job in self.queue if n != name]
        if self.running is not None and self.running[0] == name:
            start = time.perf_counter()
            self._reap(0)
            self.waited += time.perf_counter() - start
            self.running = None
            self.pump()
        path = self._path(name)
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

    def _fork(self, name: str, job: Callable[[], object]) -> int:
        self.forked += 1
        sys.stdout.flush(), sys.stderr.flush()
        pid = os.fork()
        if pid:
            return pid
        code = 1  # the child: run the job, write its result, and leave without cleaning up
        try:
            self.enabled, self.queue, self.running = False, [], None  # no grandchildren
            gc.freeze()  # the collector leaves the parent's objects alone: fewer pages copied
            os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)
            logging.disable(logging.CRITICAL)  # the main process reports what went wrong
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1), os.dup2(null, 2)
            sys.stdout = sys.stderr = open(os.devnull, "w")
            result = job()
            path = self._path(name)
            part = path.with_suffix(".part")
            with part.open("wb") as f:
                pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(part, path)
            code = 0
        finally:
            os._exit(code)


AHEAD = Ahead()
