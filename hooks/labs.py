"""The labs: notebooks executed in the background while the chapters are rendered."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.labs")

# ---------------------------------------------------------------------------
# Labs: execute the notebooks in the background
# ---------------------------------------------------------------------------
# mkdocs-jupyter executes each notebook in its own kernel when it reaches the page, and
# the build waits. The kernels are separate processes, so the hook starts them when the
# build starts, one at a time and at a lower priority: the chapters keep one core, the labs
# take the other. When mkdocs-jupyter reaches a notebook (the labs are rendered last in
# each language), it converts the copy executed in the background, waiting for it if need
# be. Conversion stays in the main thread, in the same order as before (nbconvert keeps
# global counters), so the HTML is unchanged. The two kernels of a lab share gdbook's cache
# through a directory of the build named by the lab's code and gdbook's source
# (GDBOOK_CACHE_DIR, `lab_cache_key`; the English labs run first), so a Chinese lab reuses
# the English lab's experiments, as the Chinese chapters do in this process.
# Under `mkdocs serve` the executed copies last as long as the server: a rebuild executes
# again only a notebook whose content changed (or whose run failed).


PRIORITY = 5  # the kernels' niceness: below the main process, above the pages run ahead (hooks/ahead.py says why)


class Labs:
    def __init__(self):
        self.pool: ThreadPoolExecutor | None = None
        self.jobs: dict[str, tuple[str, object]] = {}
        self.tmp: Path | None = None
        self.kernel_manager = None  # makes a kernel's jupyter_client KernelManager (hooks/kernels.py), or None

    def open(self, workers: int, kernel_manager=None) -> None:
        self.kernel_manager = kernel_manager
        if self.pool is None:
            self.pool, self.jobs = ThreadPoolExecutor(workers, thread_name_prefix="lab"), {}
            self.tmp = Path(tempfile.mkdtemp(prefix="gdbook-labs-"))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.pool, self.jobs, self.tmp = None, {}, None

    @staticmethod
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def start(self, path: Path, docs_dir: Path, kernel_name: str, allow_errors: bool) -> None:
        """Execute ``path`` in the background, unless its current content was or is being executed."""
        key, digest = str(path.resolve()), self.digest(path)
        if key in self.jobs:
            known, job = self.jobs[key]
            if known == digest and not (job.done() and job.exception() is not None):
                return
        out = self.tmp / digest[:16] / path.resolve().relative_to(docs_dir.resolve())
        # A kernel imports gdbook afresh: results cached by a kernel that ran other gdbook code,
        # or other notebook code, are not its to reuse (a server lives through edits to both).
        # The two languages of a lab share a directory: their code differs only in comments
        # and strings.
        cache = self.tmp / "cache" / lab_cache_key(path)
        job = self.pool.submit(self._execute, path, out, kernel_name, allow_errors, cache, self.kernel_manager)
        self.jobs[key] = (digest, job)

    @staticmethod
    def _execute(path: Path, out: Path, kernel_name: str, allow_errors: bool, cache: Path, kernel_manager=None) -> str:
        import nbformat
        from nbclient import NotebookClient

        nb = nbformat.read(path, as_version=4)
        # shutdown_kernel="immediate": the kernel is killed when the last cell is done, instead of
        # asked to stop (about a second of waiting per lab; the next lab's kernel waits for it).
        km = kernel_manager(kernel_name) if kernel_manager is not None else None
        client = NotebookClient(nb, km=km, kernel_name=kernel_name, allow_errors=allow_errors, store_widget_state=True,
                                shutdown_kernel="immediate", resources={"metadata": {"path": str(path.parent)}})
        client.owns_km = True  # shut the kernel down when done, as with a manager of its own
        # A lower priority: the kernel takes the core the build's main thread leaves idle.
        client.on_notebook_start = lambda **_: os.setpriority(os.PRIO_PROCESS, client.km.provisioner.pid, PRIORITY)
        # One thread, as in the main process (the hook's on_config): on the labs' small tensors a
        # second one only spins, on the core the chapters are rendered on (the learning-rate lab
        # took 13 s of CPU with two threads, 7 s with one; its outputs are the same).
        client.execute(env=dict(os.environ, GDBOOK_CACHE_DIR=str(cache), OMP_NUM_THREADS="1"))
        coalesce_streams(nb)
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
        return str(out)

    def executed(self, path) -> str | None:
        """The executed copy of ``path`` (waiting for it), or None if none was started or it changed."""
        key = str(Path(path).resolve())
        if key not in self.jobs:
            return None
        digest, job = self.jobs[key]
        if digest != self.digest(Path(path)):
            return None
        return job.result()


LABS = Labs()


def coalesce_streams(nb) -> None:
    """Merge a cell's consecutive outputs to the same stream. How a kernel splits what a cell
    prints into messages depends on timing (two prints gave one output in one build and two in
    the next): merged, the page is the same in every build."""
    for cell in nb.cells:
        merged = []
        for out in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if last is not None and out.output_type == "stream" == last.output_type and out.name == last.name:
                last.text += out.text
            else:
                merged.append(out)
        if cell.cell_type == "code":
            cell.outputs = merged


def lab_cache_key(path: Path) -> str:
    """The name of the cache directory that the kernel running notebook ``path`` shares.

    A digest of gdbook's source and of the notebook's code cells without their comments and
    string literals: the English and the Chinese lab (same code, other comments, captions
    and ``LANG``) share it; an edit to a code cell, or to gdbook, gets a new one.
    """
    import nbformat

    h = hashlib.sha256(gdbook_digest().encode())
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            h.update(b"\0cell\0" + code_tokens(cell.source).encode())
    return h.hexdigest()[:16]


def code_tokens(code: str) -> str:
    """``code`` without comments, string literals and layout, as one string of tokens
    (the code itself if it does not tokenize, e.g. an IPython magic)."""
    import io
    import tokenize

    out, depth = [], 0  # depth: inside an f-string (Python >= 3.12 tokenizes its parts)
    starts = {getattr(tokenize, n) for n in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, n)}
    ends = {getattr(tokenize, n) for n in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, n)}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in starts:
                depth += 1
            elif tok.type in ends:
                depth -= 1
                out.append("<str>")
            elif depth or tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
                continue
            elif tok.type == tokenize.STRING:
                out.append("<str>")
            else:
                out.append(tok.string if tok.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)
                           else tokenize.tok_name[tok.type])
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code
    return " ".join(out)


def gdbook_digest() -> str:
    """A digest of gdbook's source files as they are on disk now."""
    import gdbook

    h = hashlib.sha256()
    for f in sorted(Path(gdbook.__file__).parent.rglob("*.py")):
        h.update(f.as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def patch_nb2html(prepare=None) -> None:
    """Make mkdocs-jupyter convert the notebook executed in the background, and hand every
    notebook to ``prepare(nb, path)`` (which changes the ``nbformat`` notebook in place: the
    captions of hooks/figcaptions.py) before nbconvert sees it. The file the reader downloads is
    the source, unchanged."""
    import mkdocs_jupyter.convert as convert

    if prepare is not None:
        PREPARE[:] = [prepare]
    if getattr(convert.nb2html, "_gdbook", False):
        return
    original = convert.nb2html

    def nb2html(nb_path, *args, execute=False, **kwargs):
        start = time.perf_counter()
        done = LABS.executed(nb_path) if execute else None
        with tempfile.TemporaryDirectory(prefix="gdbook-lab-") as tmp:
            if done is not None:
                waited = time.perf_counter() - start
                log.info(f"Converting notebook executed in the background (waited {waited:.1f} s): {nb_path}")
            elif execute:  # not started in the background: executed here, as the background would
                done = Labs._execute(Path(nb_path), Path(tmp, "executed.ipynb"), kwargs.get("kernel_name") or "python3",
                                     kwargs.get("allow_errors", False), Path(tmp, "cache"))
            return original(_prepared(done or nb_path, nb_path, Path(tmp)), *args, execute=False, **kwargs)

    nb2html._gdbook = True
    convert.nb2html = nb2html


PREPARE: list = []


def _prepared(path, source, tmp: Path) -> str:
    """``path`` (the notebook ``source``, maybe executed) as ``PREPARE`` makes it, in ``tmp``."""
    if not PREPARE:
        return str(path)
    import nbformat

    nb = nbformat.read(path, as_version=4)
    PREPARE[0](nb, Path(source))
    out = tmp / Path(source).name
    nbformat.write(nb, out)
    return str(out)


# nbconvert names a heading by its text with everything but ASCII letters, digits and hyphens
# dropped, so a Chinese lab's headings came out as id="" (anchor links to "#"), while the
# page's table of contents, made by mkdocs-jupyter with Markdown's toc extension, links to
# "_1", "_2", ...: no link of a Chinese lab's contents went anywhere.
_HEADING = re.compile(r'<h([1-6]) id="([^"]*)"([^>]*)>(.*?)</h\1>', re.S)


def heading_ids(html: str, toc) -> str:
    """``html`` of a lab page with each heading that has no id given the id of its entry in the
    page's table of contents (``toc``, in document order; headings and entries pair up in
    order), and its anchor link pointed at it."""
    ids = []

    def walk(items):
        for item in items:
            ids.append(item.id)
            walk(item.children)

    walk(toc)
    order = iter(ids)

    def fix(m: re.Match) -> str:
        level, hid, attrs, inner = m.groups()
        toc_id = next(order, None)
        if hid or not toc_id:
            return m.group(0)
        inner = inner.replace('class="anchor-link" href="#"', f'class="anchor-link" href="#{toc_id}"')
        return f'<h{level} id="{toc_id}"{attrs}>{inner}</h{level}>'

    return _HEADING.sub(fix, html)
