"""How the pages' Python blocks run: markdown-exec's sessions, one per page and language, and
the outputs each block gave, remembered for ``mkdocs serve``.

``add_exec_defaults`` gives every executed block its session, id and source position;
``installed()`` is the ``Blocks`` that wraps markdown-exec's runner in this process.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path


def _inline():
    """hooks/inline.py (loaded by path, under the name book.py gives it)."""
    import importlib.util

    name = "gdbook_hooks_inline"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("inline.py"))
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]


FENCE = re.compile(r'^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})\s*(?P<lang>python|py)\b(?P<attrs>[^\n]*)$', re.M)
EXEC = re.compile(r'\bexec="(?:1|on|true|yes)"')


def page_lang_and_slug(page) -> tuple[str, str]:
    """The page's language (from its output path) and slug, e.g. ``("zh", "gradient-descent")``."""
    dest = page.file.dest_uri
    lang = "zh" if dest.startswith("zh/") else "en"
    src = page.file.src_uri
    slug = re.sub(r"(\.zh)?\.(md|ipynb|py)$", "", src)
    slug = re.sub(r"(^|/)index$", r"\1", slug).strip("/") or "index"
    return lang, slug


def add_exec_defaults(markdown: str, lang: str, slug: str) -> str:
    """Add ``session``, ``id`` and ``source`` to every executed Python fence of a page."""
    count = 0

    def fix(m: re.Match) -> str:
        nonlocal count
        attrs = m.group("attrs")
        if not EXEC.search(attrs):
            return m.group(0)
        count += 1
        extra = []
        if "session=" not in attrs:
            extra.append(f'session="{lang}-{slug}"')
        if " id=" not in f" {attrs}":
            extra.append(f'id="{lang}/{slug}#{count}"')
        if "source=" not in attrs:
            extra.append('source="above"')
        attrs = attrs.replace('source="none"', "")
        return f"{m.group('indent')}{m.group('ticks')}{m.group('lang')}{attrs} {' '.join(extra)}".rstrip()

    return FENCE.sub(fix, markdown)


# ---------------------------------------------------------------------------
# `mkdocs serve`: an edit to a page's prose does not run its code again
# ---------------------------------------------------------------------------
# markdown-exec runs every block of a page on every rebuild of the page, so under `serve` a
# typo fixed in a paragraph used to cost all of the page's experiments and figures. A block's
# output is a function of the code its session has run up to and including that block: a
# session is one page in one language, every page starts its session empty (below), seeds are
# fixed, and the server does not reload gdbook. So `Blocks` keys each output by a digest of
# that chain of code and, when the page is built again, serves the output of a block whose
# chain is unchanged without running it. Blocks served this way are remembered, in order,
# and run (their output discarded, their figures not drawn) before the first block that has
# to run, so that block sees the variables a run from the top would give it. A clean build
# runs each session once, so there nothing is served from memory. Only the page's last build
# is kept.


def exec_sessions(markdown: str) -> list[str]:
    """The markdown-exec sessions of a page's executed Python blocks, in order of appearance."""
    sessions = [re.search(r'\bsession="([^"]*)"', m.group("attrs")) for m in FENCE.finditer(markdown)
                if EXEC.search(m.group("attrs"))]
    return list(dict.fromkeys(s.group(1) for s in sessions if s))


class Blocks:
    """markdown-exec's ``_run_python``, remembering each block's output by its session's chain of code."""

    def __init__(self, run, sessions: dict):
        self.run, self.sessions = run, sessions  # markdown-exec's function and its sessions' globals
        self.last: dict[str, dict[str, str]] = {}  # session -> {chain digest: output}, its page's last build
        self.now: dict[str, dict[str, str]] = {}  # the same, for the build under way
        self.chain: dict[str, str] = {}
        self.skipped: dict[str, list] = {}
        self.count: dict[str, int] = {}  # blocks of the session seen in this build of its page
        self.inline: dict[str, list] = {}  # session -> its page's inline values (inline.Inline)
        self.values: dict[str, dict] = {}  # session -> {token: text, or an error message (Failed)}
        self.runs = 0  # blocks run (for the tests)
        self.evals = 0  # inline values evaluated (for the tests)

    def start_page(self, sessions, inline: dict | None = None) -> None:
        """A page is built (again): its sessions start empty; ``inline`` maps a session to the
        page's inline values (``inline.scan``)."""
        inline = inline or {}
        for name in dict.fromkeys([*sessions, *inline]):
            self.last[name] = self.now.pop(name, self.last.get(name, {}))
            self.now[name], self.skipped[name] = {}, []
            self.chain[name] = hashlib.sha256(name.encode()).hexdigest()
            self.sessions.pop(name, None)  # start empty, as in a clean build
            self.count[name], self.values[name] = 0, {}
            self.inline[name] = list(inline.get(name, []))

    def _replay(self, name: str) -> None:
        """Run the blocks served from memory so far (for their variables: no output, no figure)."""
        if self.skipped[name]:
            from gdbook.figures import _not_drawn

            with _not_drawn():  # their output was served already
                for skipped in self.skipped[name]:
                    self._run(*skipped)
            self.skipped[name].clear()

    def _evaluate(self, name: str, key: str) -> None:
        """The inline values that follow the session's block just seen (its chain digest ``key``)."""
        for item in (i for i in self.inline[name] if i.after == self.count[name]):
            vkey = hashlib.sha256(f"{key}\0{item.expr}".encode()).hexdigest()
            value = self.last[name].get(vkey)
            if value is None:
                self._replay(name)
                self.evals += 1
                try:
                    value = _inline().evaluate(item.expr, self.sessions[name], f"{name} line {item.line}")
                except Exception as e:  # reported by the page (a warning: the strict build fails)
                    self.values[name][item.token] = Failed(f"{type(e).__name__}: {e}")
                    continue
            self.now[name][vkey] = self.values[name][item.token] = value

    def _run(self, code, kwargs) -> str:
        self.runs += 1
        return self.run(code, **kwargs)

    def __call__(self, code: str, **kwargs) -> str:
        name = kwargs.get("session")
        if name not in self.chain:
            return self._run(code, kwargs)
        link = repr((self.chain[name], code, sorted(kwargs.items()), os.getcwd(), os.environ.get("COLUMNS")))
        key = self.chain[name] = hashlib.sha256(link.encode()).hexdigest()
        self.count[name] += 1
        output = self.last[name].get(key)
        if output is None:
            self._replay(name)
            output = self._run(code, kwargs)
        else:
            self.skipped[name].append((code, kwargs))
        self.now[name][key] = output
        self._evaluate(name, key)
        return output


class Failed(str):
    """Why an inline value could not be computed (kept apart from values, which are ``str``)."""


def installed() -> Blocks:
    """The ``Blocks`` installed in markdown-exec, which keeps the sessions: one per process, kept
    by every build and rebuild of a `serve`."""
    import markdown_exec._internal.formatters.python as python

    if not hasattr(python._run_python, "start_page"):
        python._run_python = Blocks(python._run_python, python._sessions_globals)
    return python._run_python
