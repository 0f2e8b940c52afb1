"""The pages' code run ahead on the second core while MkDocs renders the other pages.

A clean ``mkdocs build`` runs every page's blocks in the main process, one page after the
other, and the pages' code is most of the build. When the build starts, ``Prerun.start``
starts a second Python process, the *worker* (this file run as a script). The worker takes
chapters from the end of the build order and, for each, converts both languages' Markdown
with the build's own extensions: markdown-exec runs the blocks and the inline values are
evaluated exactly as in the build, and the book's ``execution.Blocks`` records each output under the
digest of its session's chain of code. The worker sends those records back. The main process
takes chapters from the front; when it reaches a page the worker took, ``Prerun.take``
waits for the worker's records and the hook hands them to ``Blocks`` as the page's last
build, so markdown-exec serves every block from memory: the path an unchanged page takes
under ``mkdocs serve``. Each side claims a page before running it. When the two meet, the
main process has the English pages of the first chapters still to build in Chinese; the
worker then takes those Chinese pages from the end while the main process builds the English
labs and starts the Chinese pages from the front. Both processes keep gdbook's cache in one
directory of the build as well as in memory, so a Chinese page reuses the experiments of its
English twin whichever process ran it.

A block's output depends only on its session's code (every page starts its session empty,
seeds are explicit, figures are named by their content), so the site has the same bytes
whichever process ran a page; the determinism test builds twice and compares. A page whose
run in the worker logged a warning (a failing block, a failing inline value) is run again by
the main process, so the warning fails the strict build as before. If the worker dies, the
main process runs the rest itself.

Only ``mkdocs build`` uses it (``serve`` rebuilds one page at a time), and only with
``GDBOOK_PRERUN=1``: measured on this book's 2-core machine, a clean build took 210 s with it and
178 s without (6 min 5 s and 4 min 54 s of CPU). The labs' kernels already run on the second
core, and two processes computing pages inflated the CPU time each page took. It is kept for
machines with more cores, and the determinism test builds once with it so it stays correct.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["Prerun", "enabled"]

log = logging.getLogger("mkdocs.hooks.prerun")


def enabled() -> bool:
    """Off unless ``GDBOOK_PRERUN=1``: on this book's 2-core build machine it made the build slower
    (210 s against 178 s), the labs' kernels already keeping the second core busy."""
    return os.environ.get("GDBOOK_PRERUN", "0") == "1"


class Prerun:
    """The main process's side: the worker, the chapters each side claimed, the records received."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self.owner: dict[tuple[str, str], str] = {}  # (lang, slug) -> "main" | "worker"
        self.records: dict[tuple[str, str], dict | None] = {}  # (lang, slug) -> {session: {key: output}}
        self.arrived = threading.Condition(self.lock)
        self.reader: threading.Thread | None = None
        self.ran = 0  # pages whose records the main process used (for the log and the tests)

    def start(self, config_file: str, slugs: list[str]) -> None:
        """Start the worker on ``slugs`` (chapters in build order; it takes them from the end).
        gdbook's cache is shared with it through a directory of the build."""
        if self.proc is not None or not slugs:
            return
        import gdbook.cache

        self.cache = tempfile.mkdtemp(prefix="gdbook-prerun-")
        gdbook.cache.enable(self.cache)
        env = dict(os.environ, GDBOOK_PRERUN_WORKER="1", GDBOOK_CACHE_DIR=self.cache)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, config_file, *slugs],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=os.getcwd(),
        )
        self.reader = threading.Thread(target=self._read, name="prerun", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            while True:
                message = pickle.load(self.proc.stdout)
                if message[0] == "claim":
                    with self.lock:
                        ok = self.owner.setdefault(message[1:], "worker") == "worker"
                    pickle.dump(ok, self.proc.stdin)
                    self.proc.stdin.flush()
                elif message[0] == "done":
                    _, lang, slug, records = message
                    with self.lock:
                        self.records[(lang, slug)] = records
                        self.arrived.notify_all()
                else:  # "end"
                    break
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        finally:
            with self.lock:
                self.proc_done = True
                self.arrived.notify_all()

    def take(self, lang: str, slug: str) -> dict | None:
        """The worker's records of a page, or None if the main process is to run it."""
        if self.proc is None:
            return None
        with self.lock:
            if self.owner.setdefault((lang, slug), "main") == "main":
                return None
            while (lang, slug) not in self.records and not getattr(self, "proc_done", False):
                self.arrived.wait()
            records = self.records.pop((lang, slug), None)
        if records is not None:
            self.ran += 1
        return records

    def close(self) -> None:
        if self.proc is None:
            return
        with self.lock:  # chapters not claimed yet stay with the main process
            self.proc_done = True
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        shutil.rmtree(self.cache, ignore_errors=True)


# ---------------------------------------------------------------------------
# The worker
# ---------------------------------------------------------------------------


class _Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record) -> None:
        self.count += 1


def _work(config_file: str, slugs: list[str], send, receive) -> None:
    import importlib.util

    import markdown
    from mkdocs.config import load_config

    spec = importlib.util.spec_from_file_location("gdbook_hooks_book", Path(__file__).with_name("book.py"))
    book = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = book
    spec.loader.exec_module(book)

    config = load_config(config_file)
    config.plugins["markdown-exec"].on_config(config)  # its fences, as in the build
    book.setup_execution()
    warnings = _Warnings()
    logging.getLogger().addHandler(warnings)
    docs = Path(config.docs_dir)

    def run(lang: str, slug: str) -> None:
        src = ("index" if slug == "index" else slug) + (".md" if lang == "en" else ".zh.md")
        path = docs / src
        records = None
        if path.exists():
            before = warnings.count
            text, sessions = book.prepare_markdown(path.read_text(encoding="utf-8"), src, lang, slug, config)
            md = markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs or {})
            md.convert(text)
            if warnings.count == before:
                records = book.records(sessions)
        send(("done", lang, slug, records))

    def claim(lang: str, slug: str) -> bool:
        send(("claim", lang, slug))
        return receive()

    rest = list(slugs)  # chapters whose English page the main process has, or may still take
    while rest and claim("en", rest[-1]):
        slug = rest.pop()
        run("en", slug)
        if claim("zh", slug):
            run("zh", slug)
    # the Chinese pages of the main process's chapters, from the end, until the two meet again
    for slug in reversed(rest):
        if not claim("zh", slug):
            break
        run("zh", slug)
    send(("end",))


def main(argv: list[str]) -> None:
    # Messages go through the original stdout; anything a block or a library prints elsewhere
    # goes to stderr (markdown-exec captures the blocks' own output).
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer

    def send(message) -> None:
        pickle.dump(message, out)
        out.flush()

    def receive():
        return pickle.load(inp)

    try:
        _work(argv[0], argv[1:], send, receive)
    except (EOFError, BrokenPipeError):
        pass  # the main process is done with us


if __name__ == "__main__":
    main(sys.argv[1:])
